using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;

namespace MoR.Bench;

/// <summary>
/// Loads TorchSharp-cpu (the peer) and, when it cannot load, says exactly how to make it load here.
/// TorchSharp-cpu 0.107's libLibTorchSharp.so is built with GCC 13 and needs one symbol of
/// GLIBCXX_3.4.32 (std::ios_base_library_init, an empty iostream hook) that Debian 12's libstdc++
/// (GCC 12) lacks; shared/tools/torchsharp-glibcxx-compat.py marks that need weak in the copies in
/// this program's folder and builds a one-function shim to LD_PRELOAD. bench/run-benchmarks.sh does both.
/// </summary>
internal static class TorchSharpRuntime
{
    private const string ToolName = "torchsharp-glibcxx-compat.py";

    private static readonly Lazy<string?> s_failure = new(Probe);

    /// <summary>Whether TorchSharp's native library loaded (probed once).</summary>
    public static bool IsAvailable => s_failure.Value is null;

    /// <summary>Why TorchSharp is unavailable and the commands that fix it; null when it loaded.</summary>
    public static string? Failure => s_failure.Value;

    /// <summary>TorchSharp's version and libtorch's thread count, for report headers.</summary>
    public static string Describe()
    {
        string version = typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                         ?? typeof(torch).Assembly.GetName().Version?.ToString() ?? "?";
        int plus = version.IndexOf('+');
        return $"TorchSharp-cpu {(plus > 0 ? version[..plus] : version)}, {torch.get_num_threads()} threads";
    }

    private static string? Probe()
    {
        try
        {
            using torch.Tensor probe = torch.ones(2, 2);
            using torch.Tensor product = torch.matmul(probe, probe);
            return null;
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException
                                      or EntryPointNotFoundException or BadImageFormatException or InvalidOperationException)
        {
            return Explain(e);
        }
    }

    private static string Explain(Exception e)
    {
        Exception inner = e;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        string firstLine = inner.Message.Split('\n', 2)[0].Trim();
        string bin = AppContext.BaseDirectory.TrimEnd('/');
        var text = new System.Text.StringBuilder();
        text.AppendLine($"TorchSharp (the peer) could not load its native library: {e.GetType().Name}: {firstLine}");
        if (!OperatingSystem.IsLinux())
        {
            text.AppendLine("Reference the TorchSharp-cpu package for this platform (see the exception above); MoR's own numbers still run.");
            return text.ToString();
        }

        // TorchSharp's own message blames a missing package reference; dlopen's error names the real cause.
        string? loaderError = LoaderError(bin);
        if (loaderError is not null)
        {
            text.AppendLine($"The loader says: {loaderError}");
        }

        string preload = Environment.GetEnvironmentVariable("LD_PRELOAD") ?? string.Empty;
        if (preload.Contains("libiosinit.so", StringComparison.Ordinal))
        {
            text.AppendLine($"LD_PRELOAD is already set ({preload}), so this is not only the libstdc++ version; full error:");
            text.AppendLine(inner.ToString());
        }

        if (loaderError is not null && !loaderError.Contains("GLIBCXX", StringComparison.Ordinal))
        {
            text.AppendLine("That is not the known libstdc++ mismatch; the full error follows.");
            text.AppendLine(inner.ToString());
            return text.ToString();
        }

        text.AppendLine("TorchSharp-cpu 0.107's libLibTorchSharp.so needs GLIBCXX_3.4.32 (GCC 13's libstdc++); Debian 12 has GCC 12's.");
        text.AppendLine("Patch the copies next to this program and preload the shim the tool builds, then run again:");
        text.AppendLine();
        text.AppendLine($"  python3 {FindTool() ?? "<repo>/../shared/tools/" + ToolName} {Quote(bin)}");
        text.AppendLine($"  LD_PRELOAD={Quote(bin + "/libiosinit.so")} {CommandLine()}");
        text.AppendLine();
        text.AppendLine("or run through bench/run-benchmarks.sh (same arguments), which does both when needed.");
        return text.ToString();
    }

    private static string? LoaderError(string bin)
    {
        string library = Path.Combine(bin, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(library))
        {
            return $"{library} does not exist (is TorchSharp-cpu referenced and the program built for linux-x64?)";
        }

        try
        {
            NativeLibrary.Free(NativeLibrary.Load(library));
            return null;
        }
        catch (DllNotFoundException e)
        {
            // .NET puts dlerror()'s text (e.g. "version `GLIBCXX_3.4.32' not found") after its own advice.
            string[] lines = [.. e.Message.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];
            string[] cause = [.. lines.Where(l => l.Contains("GLIBC", StringComparison.Ordinal) || l.Contains("cannot open", StringComparison.Ordinal))];
            return cause.Length > 0 ? string.Join(" ", cause) : lines.LastOrDefault() ?? e.Message;
        }
    }

    // shared/ sits beside the repository (../shared); look upwards from the program's folder.
    private static string? FindTool()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable("MOR_SHARED");
        if (!string.IsNullOrEmpty(fromEnvironment) && File.Exists(Path.Combine(fromEnvironment, "tools", ToolName)))
        {
            return Path.Combine(fromEnvironment, "tools", ToolName);
        }

        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "tools", ToolName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    // This process's command line, re-runnable: `dotnet <dll> args` or `<apphost> args`.
    private static string CommandLine()
    {
        string[] args = Environment.GetCommandLineArgs();
        string process = Environment.ProcessPath ?? "dotnet";
        var parts = new List<string>();
        string dll = Assembly.GetEntryAssembly()?.Location ?? args[0];
        if (Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            parts.Add("dotnet");
            parts.Add(dll);
        }
        else
        {
            parts.Add(process);
        }

        parts.AddRange(args.Skip(1));
        return string.Join(' ', parts.Select(Quote));
    }

    private static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsLetterOrDigit(c) || "/._-=:,+@%".Contains(c)) ? s : $"'{s.Replace("'", "'\\''")}'";
}
