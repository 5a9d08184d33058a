using System.Diagnostics;
using System.Text;
using System.Xml.Linq;

namespace MoR.Tests.Infrastructure;

/// <summary>The outcome of one GoogleTest test in a <see cref="NativeSuiteRun"/>.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Message">The failure messages, or the skip reason (GTEST_SKIP's text); empty when it passed.</param>
internal sealed record NativeTestResult(NativeTestOutcome Outcome, string Message);

/// <summary>Passed, failed or skipped (GTEST_SKIP, or a DISABLED_ test).</summary>
internal enum NativeTestOutcome
{
    Passed,
    Failed,
    Skipped,
}

/// <summary>
/// One run of the native GoogleTest executable (tests/… <see cref="RepositoryLayout.NativeTestExecutable"/>) with
/// <c>--gtest_output=xml</c>, read back test by test, so that every GoogleTest test can be its own xunit case
/// without starting the executable once per test (the whole suite takes a few seconds; a process per test
/// would add its start-up and library initialisation ninety times).
/// </summary>
internal sealed class NativeSuiteRun
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(15);
    private readonly Dictionary<string, NativeTestResult> _results;

    private NativeSuiteRun(Dictionary<string, NativeTestResult> results, int exitCode, string log, string? problem)
    {
        _results = results;
        ExitCode = exitCode;
        Log = log;
        Problem = problem;
    }

    /// <summary>The executable's exit code (-1 when it did not start or was killed).</summary>
    public int ExitCode { get; }

    /// <summary>Its standard output and error.</summary>
    public string Log { get; }

    /// <summary>Why no per-test report exists (missing executable, crash, hang), or null when the XML report was read.</summary>
    public string? Problem { get; }

    /// <summary>How many tests the report holds.</summary>
    public int Count => _results.Count;

    /// <summary>
    /// The full names (<c>Suite.Test</c>) that <c>--gtest_list_tests</c> prints for <paramref name="filter"/>, DISABLED_ ones
    /// included; a single entry starting with <c>!</c> says why the list could not be read (the case then fails saying so).
    /// </summary>
    public static IReadOnlyList<string> List(string filter = "*")
    {
        string executable = RepositoryLayout.NativeTestExecutable;
        if (!File.Exists(executable))
        {
            return [$"!{MissingExecutable(executable)}"];
        }

        (int code, string stdout, string stderr) = RunProcess(executable, ["--gtest_list_tests", $"--gtest_filter={filter}"], new Dictionary<string, string>(), TimeSpan.FromMinutes(1));
        if (code != 0)
        {
            return [$"!{executable} --gtest_list_tests exited with {code}: {stderr.Trim()}"];
        }

        // "Suite.\n  Test\n  Param/0  # GetParam() = 3\n": suites unindented, tests indented, comments after '#'.
        var names = new List<string>();
        string suite = string.Empty;
        foreach (string raw in stdout.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            int comment = line.IndexOf('#', StringComparison.Ordinal);
            string text = (comment >= 0 ? line[..comment] : line).TrimEnd();
            if (text.Length == 0 || text.StartsWith("Running main()", StringComparison.Ordinal))
            {
                continue;
            }

            if (text.StartsWith("  ", StringComparison.Ordinal))
            {
                names.Add(suite + text.Trim());
            }
            else
            {
                suite = text;
            }
        }

        return names;
    }

    /// <summary>Runs the executable once over <paramref name="filter"/> with extra environment variables and reads its XML report.</summary>
    public static async Task<NativeSuiteRun> RunAsync(string filter, IReadOnlyDictionary<string, string> environment)
    {
        string executable = RepositoryLayout.NativeTestExecutable;
        if (!File.Exists(executable))
        {
            return new NativeSuiteRun([], -1, string.Empty, MissingExecutable(executable));
        }

        string report = Path.Combine(Path.GetTempPath(), $"mor-gtest-{Guid.NewGuid():N}.xml");
        try
        {
            (int code, string stdout, string stderr) = await Task.Run(() =>
                RunProcess(executable, [$"--gtest_filter={filter}", $"--gtest_output=xml:{report}"], environment, Timeout));
            string log = stdout + stderr;
            if (code == -1)
            {
                return new NativeSuiteRun([], code, log, $"{executable} did not finish within {Timeout} and was killed");
            }

            if (!File.Exists(report))
            {
                // GoogleTest writes the report at the end: a crash leaves none. The test that was running is the one
                // with a "[ RUN ]" line and no result line.
                return new NativeSuiteRun([], code, log, $"{executable} exited with {code} without writing its report (a crash?) {Unfinished(stdout)}");
            }

            return new NativeSuiteRun(Read(XDocument.Load(report)), code, log, problem: null);
        }
        finally
        {
            File.Delete(report);
        }
    }

    /// <summary>The result of <paramref name="name"/> (<c>Suite.Test</c>); a test missing from the report fails, saying why.</summary>
    public NativeTestResult this[string name] =>
        Problem is not null ? new NativeTestResult(NativeTestOutcome.Failed, $"{Problem}{Environment.NewLine}{Tail(Log)}")
        : _results.TryGetValue(name, out NativeTestResult? result) ? result
        : new NativeTestResult(NativeTestOutcome.Failed, $"{name} is not in the suite's report (exit code {ExitCode}).{Environment.NewLine}{Tail(Log)}");

    private static Dictionary<string, NativeTestResult> Read(XDocument report)
    {
        var results = new Dictionary<string, NativeTestResult>(StringComparer.Ordinal);
        foreach (XElement test in report.Descendants("testcase"))
        {
            string name = $"{(string?)test.Attribute("classname")}.{(string?)test.Attribute("name")}";
            string[] failures = [.. test.Elements("failure").Select(f => (string?)f.Attribute("message") ?? f.Value)];
            XElement? skipped = test.Element("skipped");
            if (failures.Length > 0)
            {
                results[name] = new NativeTestResult(NativeTestOutcome.Failed, string.Join(Environment.NewLine, failures));
            }
            else if (skipped is not null)
            {
                results[name] = new NativeTestResult(NativeTestOutcome.Skipped, SkipReason((string?)skipped.Attribute("message") ?? skipped.Value));
            }
            else if ((string?)test.Attribute("result") == "suppressed" || name.Contains("DISABLED_", StringComparison.Ordinal))
            {
                results[name] = new NativeTestResult(
                    NativeTestOutcome.Skipped,
                    "disabled in the source (DISABLED_): a GPU timing run, not a check; scripts/gpu-check.sh runs it with --gtest_also_run_disabled_tests");
            }
            else
            {
                results[name] = new NativeTestResult(NativeTestOutcome.Passed, string.Empty);
            }
        }

        return results;
    }

    // GoogleTest prefixes the message with "file:line\n"; the reason is what GTEST_SKIP() was given.
    private static string SkipReason(string message)
    {
        string[] lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string[] reason = [.. lines.Where(l => !System.Text.RegularExpressions.Regex.IsMatch(l, @"^\S+:\d+$"))];
        return reason.Length > 0 ? string.Join(' ', reason) : "GTEST_SKIP() without a reason";
    }

    private static string Unfinished(string stdout)
    {
        string? running = null;
        foreach (string line in stdout.Split('\n'))
        {
            if (line.StartsWith("[ RUN      ] ", StringComparison.Ordinal))
            {
                running = line["[ RUN      ] ".Length..].Trim();
            }
            else if (line.StartsWith("[       OK ] ", StringComparison.Ordinal) || line.StartsWith("[  FAILED  ] ", StringComparison.Ordinal)
                     || line.StartsWith("[  SKIPPED ] ", StringComparison.Ordinal))
            {
                running = null;
            }
        }

        return running is null ? string.Empty : $"while running {running}";
    }

    private static string MissingExecutable(string executable) =>
        $"{executable} is missing. `dotnet build` builds it through CMake (interop/MoR.Interop/NativeBuild.targets) " +
        "unless MorSkipNativeBuild=true or MOR_NATIVE_PATH is set; GoogleTest (libgtest-dev) must be installed.";

    private static string Tail(string log) => log.Length <= 4000 ? log : "…" + log[^4000..];

    private static (int Code, string Stdout, string Stderr) RunProcess(
        string executable, string[] args, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(executable)!,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach ((string name, string value) in environment)
        {
            start.Environment[name] = value;
        }

        using Process process = Process.Start(start)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, stdout.ToString(), stderr.ToString());
        }

        process.WaitForExit(); // drains the asynchronous readers
        return (process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    private static void Append(StringBuilder to, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (to)
        {
            to.Append(line).Append('\n');
        }
    }
}
