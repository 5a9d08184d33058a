namespace MoR.Cli;

/// <summary>
/// Where a command writes: results to <see cref="Out"/> (stdout), progress and errors to <see cref="Error"/>
/// (stderr). Tests pass string writers and run commands in-process.
/// </summary>
/// <param name="Out">Results.</param>
/// <param name="Error">Progress, diagnostics, errors.</param>
/// <param name="StderrIsTerminal">Draw a live progress bar (otherwise plain lines).</param>
public sealed record CliConsole(TextWriter Out, TextWriter Error, bool StderrIsTerminal)
{
    /// <summary>Input (stdin) for interactive commands such as <c>chat</c>; empty unless given.</summary>
    public TextReader In { get; init; } = TextReader.Null;

    /// <summary>Cancelled on Ctrl-C (the training loop then checkpoints and stops).</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Test seam: called with the trainer before it runs (tests inject failures such as out-of-memory). Per console, so per run.</summary>
    internal Action<MoR.Training.Trainer>? TrainerCreated { get; init; }
}
