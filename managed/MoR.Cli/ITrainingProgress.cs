using MoR.Training;

namespace MoR.Cli;

/// <summary>How training progress is shown: a live bar on a terminal, plain lines when redirected, or JSON lines with --json.</summary>
internal interface ITrainingProgress
{
    /// <summary>Runs <paramref name="work"/> (which drives <paramref name="trainer"/>) while showing its progress.</summary>
    T Run<T>(Trainer trainer, string title, Func<T> work);

    /// <summary>A status line (what the command is doing).</summary>
    void Info(string message);
}
