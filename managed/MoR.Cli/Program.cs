namespace MoR.Cli;

/// <summary>The process entry point of <c>mor</c>.</summary>
public static class Program
{
    /// <summary>Runs the command line and returns its exit code; Ctrl-C asks a running command to stop cleanly.</summary>
    public static int Main(string[] args)
    {
        // `--nproc K` (K > 1): rerun this command as K ranks under mpirun and return mpirun's exit code.
        try
        {
            if (MoR.Distributed.MpiLauncher.LaunchIfRequested(ref args) is int launched)
            {
                return launched;
            }
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine($"mor: usage error: {e.Message} (see 'mor --help')");
            return ExitCodes.UsageError;
        }
        catch (FileNotFoundException e)
        {
            Console.Error.WriteLine($"mor: error: {e.Message}");
            return ExitCodes.RuntimeError;
        }

        if (args.Length > 0 && args[0] == "bench")
        {
            // `mor bench train` breaks a step down by native call; nothing else pays for the timing hook.
            AppContext.SetSwitch(NativeDiagnostics.NativeCallTimingSwitch, true);
        }

        if (MoR.Distributed.Communicator.LaunchedByMpi)
        {
            // Open MPI hands each rank a pseudo-terminal as stdout, so .NET would take it for a terminal and write
            // terminal-mode escape codes into the (forwarded, maybe piped) output, --json lines included.
            Environment.SetEnvironmentVariable("TERM", "dumb");
        }

        using var interrupt = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl-C lets training finish its step and write a checkpoint; a second one kills.
            if (!interrupt.IsCancellationRequested)
            {
                e.Cancel = true;
                interrupt.Cancel();
                Console.Error.WriteLine("mor: interrupted; finishing the current step and writing a checkpoint (Ctrl-C again to abort)");
            }
        };
        return MorApp.Run(args, new CliConsole(Console.Out, Console.Error, StderrIsTerminal: !Console.IsErrorRedirected) { In = Console.In, Cancellation = interrupt.Token });
    }
}
