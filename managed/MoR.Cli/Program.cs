namespace MoR.Cli;

/// <summary>The process entry point of <c>mor</c>.</summary>
public static class Program
{
    /// <summary>Runs the command line and returns its exit code; Ctrl-C asks a running command to stop cleanly.</summary>
    public static int Main(string[] args)
    {
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
