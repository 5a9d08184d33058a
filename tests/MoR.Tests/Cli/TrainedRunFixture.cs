using MoR.Cli;
using MoR.Tests.IO;

namespace MoR.Tests.Cli;

/// <summary>
/// A tiny model (byte vocabulary, one layer), a prompt/completion data file and one finished LoRA run with two kept
/// checkpoints (steps 2 and 4), made once per test class; tests copy what they break into folders of their own.
/// </summary>
public sealed class TrainedRunFixture : IDisposable
{
    private readonly TempDirectory _dir = new();

    public TrainedRunFixture()
    {
        Model = CliTests.TinyModel(_dir.Path);
        Data = _dir.File("data.jsonl");
        File.WriteAllLines(Data, Enumerable.Range(0, 40).Select(i => $"{{\"prompt\":\"copy: w{i % 7}\\n\",\"completion\":\"w{i % 7}\"}}"));
        Run = _dir.File("run");
        (int code, _, string err) = CliRunner.Run([.. FinetuneArgs(Model, Data, Run), "--steps", "4"]);
        if (code != ExitCodes.Ok)
        {
            throw new InvalidOperationException($"the fixture's training run failed: {err}");
        }
    }

    /// <summary>The model folder.</summary>
    public string Model { get; }

    /// <summary>40 prompt/completion records.</summary>
    public string Data { get; }

    /// <summary>The finished run: adapter/, checkpoints/checkpoint-00000002 and -00000004, metrics.jsonl, training_config.json.</summary>
    public string Run { get; }

    /// <summary>The adapter folder of <see cref="Run"/>.</summary>
    public string Adapter => Path.Combine(Run, "adapter");

    /// <summary>The run's flags (without --steps): LoRA r=4, micro-batch 2 x 32 tokens, a checkpoint every 2 steps.</summary>
    public static string[] FinetuneArgs(string model, string data, string output) =>
        ["finetune", "--model", model, "--data", data, "--output", output, "--method", "lora", "--rank", "4",
         "--micro-batch", "2", "--seq-len", "32", "--lr", "1e-2", "--save-every", "2"];

    /// <summary>Copies a folder tree (to break a copy, not the fixture).</summary>
    public static string Copy(string from, string to)
    {
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        return to;
    }

    public void Dispose() => _dir.Dispose();
}
