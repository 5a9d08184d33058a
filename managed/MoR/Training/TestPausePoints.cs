namespace MoR.Training;

/// <summary>
/// Named points in a training run where the process can be told to stop and wait, so that a test can kill it at
/// exactly that point and check that <c>--resume</c> still ends bit for bit where an uninterrupted run ends
/// (tests/MoR.Tests/Cli/FinetuneKillTests.cs).
/// </summary>
/// <remarks>
/// <c>MOR_TEST_PAUSE_AT=NAME@STEP[,NAME@STEP…]</c>: on reaching NAME at STEP the process writes
/// <c>mor-test: paused at NAME@STEP</c> on stderr and waits for a line on standard input (then goes on), or forever
/// once standard input is closed. Unset (always, outside tests), <see cref="At"/> is one test of a static field.
/// <para>The points, in the order a step reaches them (STEP is the step being trained, or the checkpoint's step):</para>
/// <list type="table">
/// <item><term>step.begin</term><description>before the step draws its micro-batches (the data cursor has not moved)</description></item>
/// <item><term>step.backward-done</term><description>gradients accumulated, nothing applied</description></item>
/// <item><term>step.applied</term><description>AdamW has updated the parameters; the step is not logged yet</description></item>
/// <item><term>step.logged</term><description>StepCompleted raised (metrics.jsonl has the step's line); before evaluation and checkpoint</description></item>
/// <item><term>eval.done</term><description>after an evaluation (its metrics line written)</description></item>
/// <item><term>checkpoint.begin</term><description>a checkpoint starts; nothing of it exists yet</description></item>
/// <item><term>checkpoint.parameters-written</term><description>the hidden temporary folder holds parameters.safetensors</description></item>
/// <item><term>checkpoint.optimizer-written</term><description>… and optimizer.safetensors</description></item>
/// <item><term>checkpoint.complete</term><description>… and trainer_state.json: complete, not yet renamed into place</description></item>
/// <item><term>checkpoint.renamed</term><description>a new checkpoint folder renamed into place; older ones not yet pruned</description></item>
/// <item><term>checkpoint.replace.old-moved-aside</term><description>saving a step again (Ctrl-C on a save step): the existing folder moved aside, the new one not yet in place</description></item>
/// <item><term>checkpoint.replace.new-in-place</term><description>… the new one in place, the old one not yet deleted</description></item>
/// <item><term>checkpoint.pruning</term><description>an old checkpoint being deleted: its trainer_state.json gone, its tensors not yet</description></item>
/// <item><term>checkpoint.pruned</term><description>old checkpoints deleted</description></item>
/// <item><term>run.finished</term><description>the run's last checkpoint written; Trainer.Run returning</description></item>
/// <item><term>finetune.adapter-saved</term><description>mor finetune wrote the adapter (or model); the result not yet printed</description></item>
/// </list>
/// </remarks>
public static class TestPausePoints
{
    /// <summary>The environment variable that names the points.</summary>
    public const string Variable = "MOR_TEST_PAUSE_AT";

    private static readonly HashSet<string>? s_points = Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>Waits here when <c>MOR_TEST_PAUSE_AT</c> names <paramref name="name"/>@<paramref name="step"/>; otherwise returns at once.</summary>
    /// <param name="name">One of the documented point names.</param>
    /// <param name="step">The step being trained, or the checkpoint's step.</param>
    public static void At(string name, long step)
    {
        if (s_points is null)
        {
            return;
        }

        string point = $"{name}@{step}";
        if (!s_points.Contains(point))
        {
            return;
        }

        Console.Error.WriteLine($"mor-test: paused at {point}");
        Console.Error.Flush();
        if (Console.In.ReadLine() is null)
        {
            Thread.Sleep(Timeout.Infinite); // nobody can resume it: wait for the kill
        }
    }

    private static HashSet<string>? Parse(string? value) =>
        string.IsNullOrWhiteSpace(value) ? null : [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
