using MoR.Training;
using Spectre.Console;

namespace MoR.Cli;

/// <summary>A live Spectre.Console bar on stderr: step, loss, learning rate, tokens/s, ETA.</summary>
internal sealed class SpectreProgress : ITrainingProgress
{
    private readonly IAnsiConsole _console;

    public SpectreProgress(TextWriter error)
    {
        _console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) });
    }

    public T Run<T>(Trainer trainer, string title, Func<T> work) =>
        _console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask(Markup.Escape(title), maxValue: trainer.Options.MaxSteps);
                task.Value = trainer.Step;
                string lastEval = string.Empty;
                void OnStep(object? sender, StepMetrics m)
                {
                    task.Value = m.Step;
                    task.Description = Markup.Escape(
                        $"{title} {m.Step}/{m.MaxSteps} loss {m.Loss:F3} lr {m.LearningRate:0.0e+0} {m.TokensPerSecond:F0} tok/s{lastEval}");
                }

                void OnEval(object? sender, EvalMetrics m) => lastEval = $" eval {m.Loss:F3}";
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
            });

    public void Info(string message) => _console.MarkupLine(Markup.Escape(message));
}
