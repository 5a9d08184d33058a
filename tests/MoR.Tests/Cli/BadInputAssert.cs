using System.Security.Cryptography;
using MoR.Cli;

namespace MoR.Tests.Cli;

/// <summary>
/// What every refused input must look like from the outside: a non-zero exit code, stderr ending in exactly one
/// <c>mor: …</c> line (after any progress lines a command printed before it failed), no stack trace, no runtime
/// abort text — and every file that was there before left byte for byte as it was.
/// </summary>
internal static class BadInputAssert
{
    /// <summary>Asserts the run failed with <paramref name="code"/> and stderr is exactly one line; returns it.</summary>
    public static string OneLine((int Code, string Out, string Err) run, int code = ExitCodes.RuntimeError)
    {
        string[] lines = Lines(run.Err);
        Assert.True(lines.Length == 1, $"expected exactly one stderr line, got {lines.Length}:\n{run.Err}");
        return Failure(run, code);
    }

    /// <summary>As <see cref="OneLine"/> for commands that print progress first (finetune): exactly one <c>mor: </c> line, and it is the last.</summary>
    public static string EndsInOneLine((int Code, string Out, string Err) run, int code = ExitCodes.RuntimeError)
    {
        string[] lines = Lines(run.Err);
        Assert.True(lines.Length >= 1, "stderr is empty");
        Assert.True(lines.Count(l => l.StartsWith("mor: ", StringComparison.Ordinal) && !l.StartsWith("mor: warning", StringComparison.Ordinal)) == 1, $"expected one error line:\n{run.Err}");
        return Failure(run, code);
    }

    /// <summary>The bytes of every file under <paramref name="directory"/>, by relative path.</summary>
    public static Dictionary<string, string> Snapshot(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(directory, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))), StringComparer.Ordinal);

    /// <summary>Asserts every file of <paramref name="before"/> still exists with the same bytes (new files are allowed only where <paramref name="allowNew"/> says).</summary>
    public static void Unchanged(Dictionary<string, string> before, string directory, bool allowNew = false)
    {
        Dictionary<string, string> now = Snapshot(directory);
        foreach ((string file, string hash) in before)
        {
            Assert.True(now.TryGetValue(file, out string? current), $"{file} was deleted");
            Assert.True(current == hash, $"{file} was modified");
        }

        if (!allowNew)
        {
            Assert.Empty(now.Keys.Except(before.Keys));
        }
    }

    private static string Failure((int Code, string Out, string Err) run, int code)
    {
        Assert.True(run.Code == code, $"exit code {run.Code}, expected {code}; stderr:\n{run.Err}");
        string last = Lines(run.Err)[^1];
        Assert.StartsWith(code == ExitCodes.UsageError ? "mor: usage error: " : "mor: error: ", last, StringComparison.Ordinal);
        foreach (string text in (string[])[run.Err, run.Out])
        {
            Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", text, StringComparison.Ordinal);
            Assert.DoesNotContain("internal error", text, StringComparison.Ordinal);
        }

        return last;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
