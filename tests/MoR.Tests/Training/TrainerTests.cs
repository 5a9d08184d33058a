using MoR.Adapters;
using MoR.Data;
using MoR.Modules;
using MoR.Tests.IO;
using MoR.Tests.Adapters;
using MoR.Training;

namespace MoR.Tests.Training;

/// <summary>The training loop on <see cref="TinyLanguageModel"/>: learning, exact resume, atomic checkpoints, non-finite safety.</summary>
public sealed class TrainerTests
{
    private static TrainingOptions Options(string method, int steps = 30, float dropout = 0f) => new()
    {
        Adapter = TestAdapters.ConfigOrFull(method, rank: 4, experts: 3, alpha: 8, dropout: dropout),
        LearningRate = method == AdapterMethods.FullFineTuning ? 3e-2f : 2e-2f,
        WarmupSteps = 2,
        MaxSteps = steps,
        MicroBatchSize = 2,
        GradientAccumulation = 2,
        SequenceLength = 8,
        WeightDecay = 0.01f,
        Seed = 7,
    };

    private static float[][] Snapshot(ITrainingModel model) =>
        [.. model.TrainableParameters().Select(p => p.Value.ToArray<float>())];

    [Theory]
    [InlineData("lora")]
    [InlineData("dora")]
    [InlineData("moe-lora")]
    [InlineData("mor")]
    [InlineData("full")]
    public void Loss_decreases_for_every_method(string method)
    {
        using var model = new TinyLanguageModel(method);
        List<PackedSequence> rows = TinyData.Rows(32, 8, seed: 3);
        using var trainer = new Trainer(model, Options(method, steps: 40), rows, validation: TinyData.Rows(8, 8, seed: 4));
        var losses = new List<double>();
        trainer.StepCompleted += (_, m) => losses.Add(m.Loss);
        EvalMetrics before = trainer.Evaluate();
        TrainingResult result = trainer.Run();
        Assert.True(result.Completed);
        Assert.Equal(40, losses.Count);
        Assert.True(losses.TakeLast(5).Average() < 0.8 * losses.Take(5).Average(), $"{method}: {losses.Take(5).Average()} -> {losses.TakeLast(5).Average()}");
        Assert.True(result.LastEval!.Loss < before.Loss, $"{method}: eval {before.Loss} -> {result.LastEval.Loss}");
    }

    [Theory]
    [InlineData("mor")]
    [InlineData("dora")]
    [InlineData("full")]
    public void Resume_after_k_steps_equals_an_uninterrupted_run_bit_for_bit(string method)
    {
        const int k = 6;
        List<PackedSequence> rows = TinyData.Rows(5, 8, seed: 11);  // 5 rows, batch 2: batches span epochs
        float[][] straight;
        using (var model = new TinyLanguageModel(method))
        using (var trainer = new Trainer(model, Options(method, steps: 2 * k), rows))
        {
            trainer.Run();
            straight = Snapshot(model);
        }

        using var dir = new TempDirectory();
        string checkpoints = Path.Combine(dir.Path, "checkpoints");
        using (var model = new TinyLanguageModel(method))
        using (var trainer = new Trainer(model, Options(method, steps: 2 * k), rows, checkpointDirectory: checkpoints))
        {
            using var stop = new CancellationTokenSource();
            trainer.StepCompleted += (_, m) =>
            {
                if (m.Step == k)
                {
                    stop.Cancel();  // as Ctrl-C: the step finishes, then a checkpoint is written
                }
            };
            TrainingResult first = trainer.Run(stop.Token);
            Assert.False(first.Completed);
            Assert.Equal(k, first.Step);
        }

        using (var model = new TinyLanguageModel(method))
        using (var trainer = new Trainer(model, Options(method, steps: 2 * k), rows, checkpointDirectory: checkpoints))
        {
            trainer.Resume(checkpoints);
            Assert.Equal(k, trainer.Step);
            TrainingResult second = trainer.Run();
            Assert.True(second.Completed);
            float[][] resumed = Snapshot(model);
            Assert.Equal(straight.Length, resumed.Length);
            for (int i = 0; i < straight.Length; i++)
            {
                Assert.Equal(
                    straight[i].Select(BitConverter.SingleToInt32Bits),
                    resumed[i].Select(BitConverter.SingleToInt32Bits));
            }
        }
    }

    [Theory]
    [InlineData("lora")]
    [InlineData("dora")]
    [InlineData("mor")]
    public void Dropout_changes_the_loss_trajectory_and_resume_stays_bit_exact(string method)
    {
        const int k = 5;
        List<PackedSequence> rows = TinyData.Rows(5, 8, seed: 11);
        (List<double> Losses, float[][] Params) Straight(float dropout)
        {
            using var model = new TinyLanguageModel(method, dropout: dropout);
            using var trainer = new Trainer(model, Options(method, steps: 2 * k, dropout: dropout), rows);
            var losses = new List<double>();
            trainer.StepCompleted += (_, m) => losses.Add(m.Loss);
            trainer.Run();
            return (losses, Snapshot(model));
        }

        (List<double> plain, _) = Straight(0f);
        (List<double> dropped, float[][] straight) = Straight(0.3f);
        Assert.NotEqual(plain, dropped);
        Assert.Equal(dropped, Straight(0.3f).Losses);  // deterministic

        using var dir = new TempDirectory();
        string checkpoints = Path.Combine(dir.Path, "checkpoints");
        using (var model = new TinyLanguageModel(method, dropout: 0.3f))
        using (var trainer = new Trainer(model, Options(method, steps: 2 * k, dropout: 0.3f), rows, checkpointDirectory: checkpoints))
        {
            using var stop = new CancellationTokenSource();
            trainer.StepCompleted += (_, m) =>
            {
                if (m.Step == k)
                {
                    stop.Cancel();
                }
            };
            Assert.False(trainer.Run(stop.Token).Completed);
        }

        using (var model = new TinyLanguageModel(method, dropout: 0.3f))
        using (var trainer = new Trainer(model, Options(method, steps: 2 * k, dropout: 0.3f), rows, checkpointDirectory: checkpoints))
        {
            trainer.Resume(checkpoints);
            var losses = new List<double>();
            trainer.StepCompleted += (_, m) => losses.Add(m.Loss);
            Assert.True(trainer.Run().Completed);
            Assert.Equal(dropped.Skip(k), losses);
            float[][] resumed = Snapshot(model);
            for (int i = 0; i < straight.Length; i++)
            {
                Assert.Equal(straight[i].Select(BitConverter.SingleToInt32Bits), resumed[i].Select(BitConverter.SingleToInt32Bits));
            }
        }
    }

    [Fact]
    public void A_kill_between_temp_write_and_rename_leaves_the_previous_checkpoint_valid()
    {
        using var dir = new TempDirectory();
        List<PackedSequence> rows = TinyData.Rows(8, 8, seed: 5);
        using var model = new TinyLanguageModel("mor");
        using var trainer = new Trainer(model, Options("mor", steps: 4) with { SaveEvery = 2 }, rows, checkpointDirectory: dir.Path);
        trainer.StepCompleted += (_, m) =>
        {
            if (m.Step == 3)
            {
                trainer.BeforeCheckpointRename = _ => throw new IOException("simulated kill before rename");
            }
        };
        Assert.Throws<IOException>(() => trainer.Run());

        string latest = TrainingCheckpoint.FindLatest(dir.Path)!;
        Assert.EndsWith("checkpoint-00000002", latest, StringComparison.Ordinal);
        TrainerState state = TrainingCheckpoint.ReadState(latest);
        Assert.Equal(2, state.Step);

        // The surviving checkpoint loads, and a fresh trainer resumes from it to the end.
        using var model2 = new TinyLanguageModel("mor");
        using var trainer2 = new Trainer(model2, Options("mor", steps: 4) with { SaveEvery = 2 }, rows, checkpointDirectory: dir.Path);
        trainer2.Resume(dir.Path);
        Assert.Equal(2, trainer2.Step);
        Assert.True(trainer2.Run().Completed);
        Assert.EndsWith("checkpoint-00000004", TrainingCheckpoint.FindLatest(dir.Path)!, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateDirectories(dir.Path, ".checkpoint-*"));
    }

    [Fact]
    public void A_non_finite_loss_stops_the_step_without_touching_parameters_or_checkpoints()
    {
        using var dir = new TempDirectory();
        List<PackedSequence> rows = TinyData.Rows(8, 8, seed: 5);
        using var model = new TinyLanguageModel("lora");
        using var trainer = new Trainer(model, Options("lora", steps: 6) with { SaveEvery = 2 }, rows, checkpointDirectory: dir.Path);
        float[][]? atPoison = null;
        trainer.StepCompleted += (_, m) =>
        {
            if (m.Step == 2)
            {
                Poison(model);
                atPoison = Snapshot(model);
            }
        };
        NonFiniteException e = Assert.Throws<NonFiniteException>(() => trainer.Run());
        Assert.Equal(3, e.Step);
        Assert.Contains("NOT applied", e.Message, StringComparison.Ordinal);
        Assert.Contains("checkpoint-00000002", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, trainer.Step);
        float[][] after = Snapshot(model);
        for (int i = 0; i < after.Length; i++)
        {
            Assert.Equal(atPoison![i].Select(BitConverter.SingleToInt32Bits), after[i].Select(BitConverter.SingleToInt32Bits));
        }

        Assert.Equal(2, TrainingCheckpoint.ReadState(TrainingCheckpoint.FindLatest(dir.Path)!).Step);
    }

    [Fact]
    public void With_skip_nonfinite_bad_steps_are_skipped_and_counted()
    {
        List<PackedSequence> rows = TinyData.Rows(8, 8, seed: 5);
        using var model = new TinyLanguageModel("lora");
        using var trainer = new Trainer(model, Options("lora", steps: 4) with { SkipNonFinite = true }, rows);
        var skipped = new List<bool>();
        trainer.StepCompleted += (_, m) =>
        {
            skipped.Add(m.Skipped);
            if (m.Step == 1)
            {
                Poison(model);
            }
        };
        TrainingResult result = trainer.Run();
        Assert.True(result.Completed);
        Assert.Equal([false, true, true, true], skipped);
        Assert.Equal(3, result.SkippedSteps);
        Assert.Equal(1, trainer.Optimizer.StepCount);
    }

    [Fact]
    public void Checkpoint_of_another_model_is_refused_with_a_clear_message()
    {
        using var dir = new TempDirectory();
        List<PackedSequence> rows = TinyData.Rows(4, 8, seed: 5);
        using (var model = new TinyLanguageModel("lora"))
        using (var trainer = new Trainer(model, Options("lora", steps: 2), rows, checkpointDirectory: dir.Path))
        {
            trainer.Run();
        }

        using var other = new TinyLanguageModel("mor");
        using var trainer2 = new Trainer(other, Options("mor", steps: 2), rows);
        InvalidDataException e = Assert.Throws<InvalidDataException>(() => trainer2.Resume(dir.Path));
        Assert.Contains("parameters", e.Message, StringComparison.Ordinal);
    }

    private static void Poison(ITrainingModel model)
    {
        Parameter p = model.TrainableParameters()[0];
        float[] v = p.Value.ToArray<float>();
        v[0] = float.NaN;
        p.Value.CopyFrom<float>(v);
        foreach (var a in model.Adapters)
        {
            a.OnParametersChanged();
        }
    }
}
