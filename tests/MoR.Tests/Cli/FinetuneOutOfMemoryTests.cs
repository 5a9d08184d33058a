using MoR.Cli;
using MoR.Interop;
using MoR.Tests.IO;

namespace MoR.Tests.Cli;

/// <summary>An out-of-memory in the middle of training: exit 1, the native sizes, the run's sizes and a hint (injected through a seam, not by exhausting memory).</summary>
[Collection("Quickstart")]
public sealed class FinetuneOutOfMemoryTests
{
    [Fact]
    public void An_out_of_memory_during_training_prints_the_sizes_and_a_hint_and_exits_1()
    {
        using var dir = new TempDirectory();
        string model = CliTests.TinyModel(dir.Path);
        string data = dir.File("data.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 20).Select(i => $"{{\"text\":\"line {i} of the data\"}}"));
        (int code, string stdout, string stderr) = CliRunner.RunWithTrainer(
            trainer => trainer.StepCompleted += (_, m) =>
            {
                if (m.Step == 2)
                {
                    throw new NativeOutOfMemoryException("mor_matmul", "host allocation of 17179869184 bytes failed");
                }
            },
            "finetune", "--model", model, "--data", data, "--output", dir.File("out"), "--method", "lora", "--rank", "2",
            "--steps", "5", "--micro-batch", "2", "--seq-len", "16");
        Assert.Equal(ExitCodes.RuntimeError, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains("mor: out of memory: host allocation of 17179869184 bytes failed", stderr, StringComparison.Ordinal);
        Assert.Contains("micro-batch 2 x seq-len 16 = 32 tokens", stderr, StringComparison.Ordinal);
        Assert.Contains("trainable parameters; cpu: ", stderr, StringComparison.Ordinal);
        Assert.Contains("MiB in use", stderr, StringComparison.Ordinal);
        Assert.Contains("mor: hint: use a smaller --micro-batch", stderr, StringComparison.Ordinal);
        Assert.Contains("--grad-accum", stderr, StringComparison.Ordinal);
        Assert.Contains("--recompute", stderr, StringComparison.Ordinal);
    }
}
