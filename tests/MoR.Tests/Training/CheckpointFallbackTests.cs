using System.Text.Json.Nodes;
using MoR.Data;
using MoR.IO;
using MoR.Modules;
using MoR.Tests.IO;
using MoR.Tests.Adapters;
using MoR.Training;

namespace MoR.Tests.Training;

/// <summary>
/// <see cref="Trainer.Resume(string, out IReadOnlyList{SkippedCheckpoint})"/> and <see cref="TrainingCheckpoint"/>:
/// a damaged checkpoint is passed over for the next older one, with its reason; nothing is copied from a checkpoint
/// until all of it has been checked; impossible trainer states are typed errors; a checkpoint of another model stops.
/// </summary>
public sealed class CheckpointFallbackTests
{
    private static TrainingOptions Options(int steps) => new()
    {
        Adapter = TestAdapters.ConfigOrFull("lora", rank: 4, alpha: 8),
        LearningRate = 2e-2f,
        MaxSteps = steps,
        MicroBatchSize = 2,
        SequenceLength = 8,
        SaveEvery = 2,
    };

    private static readonly List<PackedSequence> Data = TinyData.Rows(6, 8, seed: 5);

    /// <summary>Trains 4 steps with a checkpoint every 2: checkpoint-00000002 and -00000004.</summary>
    private static string TwoCheckpoints(TempDirectory dir)
    {
        string root = dir.File("checkpoints");
        using var model = new TinyLanguageModel("lora");
        using var trainer = new Trainer(model, Options(4), Data, checkpointDirectory: root);
        trainer.Run();
        return root;
    }

    public static TheoryData<string, string> Damage() => new()
    {
        { "trainer_state.json", "truncated" },
        { "trainer_state.json", "negative step" },
        { "trainer_state.json", "lists of different lengths" },
        { "trainer_state.json", "other format" },
        { "parameters.safetensors", "truncated" },
        { "parameters.safetensors", "deleted" },
        { "optimizer.safetensors", "NaN" },
        { "optimizer.safetensors", "missing tensor" },
    };

    [Theory]
    [MemberData(nameof(Damage))]
    public void A_damaged_newest_checkpoint_is_skipped_with_its_reason(string file, string how)
    {
        using var dir = new TempDirectory();
        string root = TwoCheckpoints(dir);
        string newest = Path.Combine(root, "checkpoint-00000004");
        Break(Path.Combine(newest, file), how);

        using var model = new TinyLanguageModel("lora");
        using var trainer = new Trainer(model, Options(6), Data, checkpointDirectory: root);
        string used = trainer.Resume(root, out IReadOnlyList<SkippedCheckpoint> skipped);

        Assert.EndsWith("checkpoint-00000002", used, StringComparison.Ordinal);
        Assert.Equal(2, trainer.Step);
        SkippedCheckpoint skip = Assert.Single(skipped);
        Assert.Equal(newest, skip.Checkpoint);
        Assert.Contains(file, skip.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', skip.Reason);
    }

    [Fact]
    public void When_the_state_file_is_gone_the_folder_is_not_a_checkpoint_at_all()
    {
        // A folder without trainer_state.json is what a killed save leaves: it is not even offered.
        using var dir = new TempDirectory();
        string root = TwoCheckpoints(dir);
        File.Delete(Path.Combine(root, "checkpoint-00000004", "trainer_state.json"));
        Assert.EndsWith("checkpoint-00000002", Assert.Single(TrainingCheckpoint.Candidates(root)), StringComparison.Ordinal);
    }

    [Fact]
    public void No_readable_checkpoint_is_one_typed_error_listing_each_reason()
    {
        using var dir = new TempDirectory();
        string root = TwoCheckpoints(dir);
        Break(Path.Combine(root, "checkpoint-00000004", "trainer_state.json"), "truncated");
        Break(Path.Combine(root, "checkpoint-00000002", "parameters.safetensors"), "truncated");

        using var model = new TinyLanguageModel("lora");
        using var trainer = new Trainer(model, Options(6), Data, checkpointDirectory: root);
        TrainingCheckpointException e = Assert.Throws<TrainingCheckpointException>(() => trainer.Resume(root));

        Assert.StartsWith($"No readable checkpoint in '{root}' (2 tried): checkpoint-00000004: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("; checkpoint-00000002: ", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, trainer.Step);
    }

    [Fact]
    public void A_named_checkpoint_folder_is_used_or_refused_never_replaced_by_another()
    {
        using var dir = new TempDirectory();
        string root = TwoCheckpoints(dir);
        string newest = Path.Combine(root, "checkpoint-00000004");
        Break(Path.Combine(newest, "trainer_state.json"), "truncated");

        using var model = new TinyLanguageModel("lora");
        using var trainer = new Trainer(model, Options(6), Data, checkpointDirectory: root);
        JsonFileException e = Assert.Throws<JsonFileException>(() => trainer.Resume(newest));
        Assert.Equal(Path.Combine(newest, "trainer_state.json"), e.FilePath);
    }

    [Fact]
    public void A_checkpoint_that_fails_its_checks_leaves_the_parameters_untouched()
    {
        using var dir = new TempDirectory();
        string root = TwoCheckpoints(dir);
        string only = Path.Combine(root, "checkpoint-00000004");
        Break(Path.Combine(only, "optimizer.safetensors"), "NaN");  // the last moment of the last parameter: checked last

        using var model = new TinyLanguageModel("lora", seed: 9);
        using var trainer = new Trainer(model, Options(6), Data);
        float[][] before = [.. model.TrainableParameters().Select(p => p.Value.ToArray<float>())];
        Assert.Throws<TrainingCheckpointException>(() => TrainingCheckpoint.Load(only, trainer.Optimizer));
        Assert.Equal(before, [.. model.TrainableParameters().Select(p => p.Value.ToArray<float>())]);
    }

    [Fact]
    public void A_checkpoint_of_another_model_stops_the_resume_instead_of_falling_back()
    {
        using var dir = new TempDirectory();
        string root = TwoCheckpoints(dir);
        using var model = new TinyLanguageModel("lora", rank: 2);
        using var trainer = new Trainer(model, Options(6) with { Adapter = TestAdapters.Config("lora", rank: 2, alpha: 8) }, Data);
        InvalidDataException e = Assert.Throws<InvalidDataException>(() => trainer.Resume(root));
        Assert.Contains("checkpoint-00000004", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cursor_beyond_the_data_says_the_data_changed()
    {
        using var dir = new TempDirectory();
        string root = TwoCheckpoints(dir);
        using var model = new TinyLanguageModel("lora");
        using var trainer = new Trainer(model, Options(6), Data.Take(1).ToList());
        InvalidDataException e = Assert.Throws<InvalidDataException>(() => trainer.Resume(root));
        Assert.Contains("was the data or --seq-len changed", e.Message, StringComparison.Ordinal);
    }

    internal static void Break(string path, string how)
    {
        switch (how)
        {
            case "deleted":
                File.Delete(path);
                break;
            case "truncated":
                byte[] bytes = File.ReadAllBytes(path);
                File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
                break;
            case "negative step" or "lists of different lengths" or "other format":
                JsonObject state = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
                if (how == "negative step")
                {
                    state["step"] = -4;
                }
                else if (how == "other format")
                {
                    state["format_version"] = 99;
                }
                else
                {
                    state["parameter_names"]!.AsArray().RemoveAt(0);
                }

                File.WriteAllText(path, state.ToJsonString());
                break;
            case "NaN":
                byte[] data = File.ReadAllBytes(path);
                BitConverter.GetBytes(float.NaN).CopyTo(data, data.Length - 4);
                File.WriteAllBytes(path, data);
                break;
            case "missing tensor":
                var writer = new SafeTensorsWriter();
                using (SafeTensorsReader reader = SafeTensorsReader.Open(path))
                {
                    foreach (TensorInfo t in reader.Tensors.Skip(1))
                    {
                        writer.Add(t.Name, t.DType, [.. t.Shape], reader.GetBytes(t));
                    }
                }

                writer.Save(path);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(how), how, null);
        }
    }
}
