using System.Diagnostics;
using MoR.Training;

namespace MoR.Cli;

/// <summary>Plain progress lines on stderr (redirected output, CI logs): about one line every two seconds plus the first and last step.</summary>
internal sealed class PlainProgress(TextWriter error) : ITrainingProgress
{
    public T Run<T>(Trainer trainer, string title, Func<T> work)
    {
        long last = 0;
        void OnStep(object? sender, StepMetrics m)
        {
            long now = Stopwatch.GetTimestamp();
            if (m.Step == 1 || m.Step == m.MaxSteps || m.Skipped || Stopwatch.GetElapsedTime(last, now).TotalSeconds >= 2)
            {
                last = now;
                error.WriteLine(Format(title, m));
            }
        }

        void OnEval(object? sender, EvalMetrics m) => error.WriteLine($"{title}: eval after step {m.Step}: loss {m.Loss:F4} ppl {m.Perplexity:F2}");
        trainer.StepCompleted += OnStep;
        trainer.EvalCompleted += OnEval;
        try
        {
            return work();
        }
        finally
        {
            trainer.StepCompleted -= OnStep;
            trainer.EvalCompleted -= OnEval;
        }
    }

    public void Info(string message) => error.WriteLine(message);

    public static string Format(string title, StepMetrics m) =>
        $"{title}: step {m.Step}/{m.MaxSteps} loss {m.Loss:F4} lr {m.LearningRate:0.0e+0} grad {m.GradNorm:F2} " +
        $"{m.TokensPerSecond:F0} tok/s eta {m.Eta:hh\\:mm\\:ss}{(m.Skipped ? " SKIPPED (non-finite)" : string.Empty)}";
}
