using System.Text.Json.Nodes;
using MoR.Training;

namespace MoR.Cli;

/// <summary>--json: one JSON object per step / evaluation / status message on stdout (the same objects as metrics.jsonl, plus a "phase").</summary>
internal sealed class JsonProgress(TextWriter output, TextWriter error) : ITrainingProgress
{
    public T Run<T>(Trainer trainer, string title, Func<T> work)
    {
        void OnStep(object? sender, StepMetrics m) => Write(MetricsLog.ToJson(m), title);
        void OnEval(object? sender, EvalMetrics m) => Write(MetricsLog.ToJson(m), title);
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

    public void Write(JsonObject line, string phase)
    {
        line["phase"] = phase;
        output.WriteLine(line.ToJsonString());
    }
}
