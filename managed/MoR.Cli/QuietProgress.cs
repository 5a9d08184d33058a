using MoR.Training;

namespace MoR.Cli;

/// <summary>No progress output: the ranks other than 0 of a data-parallel run (rank 0 reports for the job).</summary>
internal sealed class QuietProgress : ITrainingProgress
{
    public T Run<T>(Trainer trainer, string title, Func<T> work) => work();

    public void Info(string message)
    {
    }
}
