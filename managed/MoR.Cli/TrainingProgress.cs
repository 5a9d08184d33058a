namespace MoR.Cli;

/// <summary>Picks the progress display for a console.</summary>
internal static class TrainingProgress
{
    public static ITrainingProgress For(CliConsole console, bool json) =>
        json ? new JsonProgress(console.Out, console.Error)
        : console.StderrIsTerminal ? new SpectreProgress(console.Error)
        : new PlainProgress(console.Error);
}
