using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace MoR.Distributed;

/// <summary>
/// Runs this program as K ranks on this machine: <c>--nproc K</c> on the command line becomes
/// <c>mpirun -np K [options] &lt;this program&gt; &lt;the other arguments&gt;</c>, and mpirun's exit code is the
/// program's. The ranks find each other through <see cref="Communicator.FromEnvironment"/>.
/// </summary>
/// <remarks>
/// Open MPI's mpirun is assumed. The options that work on a single machine, as root in a container, with
/// no network but loopback are <see cref="LocalOptions"/>; <c>MOR_MPIRUN_ARGS</c> appends more (split on
/// spaces) and <c>MOR_MPIRUN</c> names another mpirun. Unless set, <c>MOR_NUM_THREADS</c> (the CPU backend's
/// thread count, <see cref="Device.CpuThreads"/>) is set to the cores divided by K for the ranks. If a rank exits with an error, mpirun ends the
/// others at once; a rank that hangs is caught by the collectives' timeout (<c>MOR_COMM_TIMEOUT_S</c>).
/// </remarks>
public static class MpiLauncher
{
    /// <summary>The variable the native library reads its default CPU thread count from.</summary>
    public const string ThreadCountVariable = "MOR_NUM_THREADS";

    /// <summary>The option that asks for K ranks.</summary>
    public const string ProcessCountOption = "--nproc";

    /// <summary>
    /// Open MPI options for ranks on this machine: run as root (containers, CI), more ranks than cores, no
    /// pinning (each rank runs its own CPU thread pool), shared memory between ranks, and the launcher's
    /// own control traffic on loopback only.
    /// </summary>
    public static IReadOnlyList<string> LocalOptions { get; } =
    [
        "--allow-run-as-root",
        "--oversubscribe",
        "--bind-to", "none",
        "--mca", "btl", "self,vader",
        "--mca", "oob_tcp_if_include", "lo",
    ];

    /// <summary>
    /// When <paramref name="args"/> has <c>--nproc K</c> (or <c>--nproc=K</c>) with K &gt; 1 and this process is
    /// not already a rank, runs the program as K ranks and returns mpirun's exit code; otherwise returns null
    /// and the caller goes on in this process. <c>--nproc</c> is removed from <paramref name="args"/> either way.
    /// </summary>
    /// <param name="args">The program's arguments.</param>
    /// <exception cref="FormatException">K is not a positive integer.</exception>
    /// <exception cref="FileNotFoundException">mpirun cannot be found.</exception>
    public static int? LaunchIfRequested(ref string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        int? nproc = TakeProcessCount(ref args);
        if (nproc is not > 1 || Communicator.LaunchedByMpi)
        {
            return null;
        }

        return Run(nproc.Value, args);
    }

    /// <summary>Removes <c>--nproc K</c> / <c>--nproc=K</c> from <paramref name="args"/> and returns K (null when absent).</summary>
    /// <param name="args">The program's arguments.</param>
    /// <exception cref="FormatException">K is missing or not a positive integer.</exception>
    public static int? TakeProcessCount(ref string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var rest = new List<string>(args.Length);
        int? nproc = null;
        for (int i = 0; i < args.Length; i++)
        {
            string? value = null;
            if (args[i] == ProcessCountOption)
            {
                value = i + 1 < args.Length ? args[++i] : throw new FormatException($"{ProcessCountOption} needs a number of ranks.");
            }
            else if (args[i].StartsWith(ProcessCountOption + "=", StringComparison.Ordinal))
            {
                value = args[i][(ProcessCountOption.Length + 1)..];
            }
            else
            {
                rest.Add(args[i]);
                continue;
            }

            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int k) || k < 1)
            {
                throw new FormatException($"{ProcessCountOption} expects a positive number of ranks, got '{value}'.");
            }

            nproc = k;
        }

        args = [.. rest];
        return nproc;
    }

    /// <summary>The mpirun command line that starts <paramref name="nproc"/> copies of this program with <paramref name="args"/>.</summary>
    /// <param name="nproc">The number of ranks.</param>
    /// <param name="args">The arguments each rank gets (without <c>--nproc</c>).</param>
    /// <param name="mpirun">The launcher to run; null: <see cref="FindMpirun"/>.</param>
    public static ProcessStartInfo BuildStartInfo(int nproc, IReadOnlyList<string> args, string? mpirun = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nproc, 1);
        ArgumentNullException.ThrowIfNull(args);
        var start = new ProcessStartInfo(mpirun ?? FindMpirun()) { UseShellExecute = false };

        // K ranks each starting one thread per core would oversubscribe the machine K times (measured with the
        // earlier OpenMP threads: 27 ms instead of 0.7 ms per toy step with 2 ranks on 2 cores). Share the cores
        // out unless the user chose a count.
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(ThreadCountVariable)) &&
            string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS")))
        {
            start.Environment[ThreadCountVariable] = Math.Max(1, Environment.ProcessorCount / nproc).ToString(CultureInfo.InvariantCulture);
        }

        start.ArgumentList.Add("-np");
        start.ArgumentList.Add(nproc.ToString(CultureInfo.InvariantCulture));
        foreach (string option in LocalOptions)
        {
            start.ArgumentList.Add(option);
        }

        string? extra = Environment.GetEnvironmentVariable("MOR_MPIRUN_ARGS");
        if (!string.IsNullOrWhiteSpace(extra))
        {
            foreach (string option in extra.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                start.ArgumentList.Add(option);
            }
        }

        foreach (string part in CurrentProgram())
        {
            start.ArgumentList.Add(part);
        }

        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    /// <summary>Starts mpirun (sharing this console), waits for it and returns its exit code.</summary>
    /// <param name="nproc">The number of ranks.</param>
    /// <param name="args">The arguments each rank gets.</param>
    public static int Run(int nproc, IReadOnlyList<string> args)
    {
        using Process process = Process.Start(BuildStartInfo(nproc, args))
            ?? throw new InvalidOperationException("mpirun did not start.");
        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary><c>MOR_MPIRUN</c>, else <c>mpirun</c> on PATH.</summary>
    /// <exception cref="FileNotFoundException">Neither exists.</exception>
    public static string FindMpirun()
    {
        string? configured = Environment.GetEnvironmentVariable("MOR_MPIRUN");
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(configured)
                ? configured
                : throw new FileNotFoundException($"MOR_MPIRUN names '{configured}', which does not exist.", configured);
        }

        return TryFindOnPath("mpirun") ?? throw new FileNotFoundException(
            "mpirun was not found on PATH: install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev) or set MOR_MPIRUN.",
            "mpirun");
    }

    /// <summary>The full path of <paramref name="name"/> on PATH, or null.</summary>
    /// <param name="name">An executable's file name.</param>
    public static string? TryFindOnPath(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    // The command that started this process: the apphost, or `dotnet app.dll` when run through the muxer.
    // A single-file app is always its own apphost, so the empty Location of its entry assembly is never read.
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage(
        "SingleFile", "IL3000", Justification = "Only reached when run through the dotnet muxer, never for single-file apps.")]
    private static string[] CurrentProgram()
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("The current executable's path is unknown.");
        if (!Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return [process];
        }

        string assembly = Assembly.GetEntryAssembly()?.Location is { Length: > 0 } location
            ? location
            : throw new InvalidOperationException("Run through dotnet, but the entry assembly's path is unknown.");
        return [process, assembly];
    }
}
