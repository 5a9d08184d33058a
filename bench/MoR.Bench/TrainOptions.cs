using System.Globalization;

namespace MoR.Bench;

/// <summary>The <c>train</c> mode's flags.</summary>
internal sealed record TrainOptions(
    string Preset, int Batch, int SeqLen, int Steps, int Warmup, int Rank, int Experts, bool Torch, IReadOnlyList<string> GpuResults,
    string Output, string? WorkDirectory, string ModelPreset = "100m", int Repeat = 2)
{
    public const string Usage =
        "usage: run-benchmarks.sh train [--preset 30m] [--batch 1] [--seq-len 256] [--steps 5] [--warmup 2] [--rank 32] [--experts 8]\n" +
        "                                [--no-torch] [--gpu-results FILE.jsonl ...] [--output docs/PERFORMANCE.md] [--work DIR]\n" +
        "                                [--model-preset 100m]   (the BF16 checkpoint for load / eval / generation)\n" +
        "                                [--repeat 2]            (process runs per cell, ours and the peer's alternating; the fastest is kept)";

    public static TrainOptions Parse(IReadOnlyList<string> args)
    {
        var o = new TrainOptions("30m", 1, 256, 5, 2, 32, 8, true, [], "docs/PERFORMANCE.md", null);
        var gpu = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            string Next() => i + 1 < args.Count ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            int Int() => int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0
                ? v
                : throw new FormatException($"{args[i - 1]} needs a positive integer, got '{args[i]}'");
            o = args[i] switch
            {
                "--preset" => o with { Preset = Next() },
                "--batch" => o with { Batch = Int() },
                "--seq-len" => o with { SeqLen = Int() },
                "--steps" => o with { Steps = Int() },
                "--warmup" => o with { Warmup = Int() },
                "--rank" => o with { Rank = Int() },
                "--experts" => o with { Experts = Int() },
                "--no-torch" => o with { Torch = false },
                "--gpu-results" => Add(o, gpu, Next()),
                "--output" => o with { Output = Next() },
                "--work" => o with { WorkDirectory = Next() },
                "--model-preset" => o with { ModelPreset = Next() },
                "--repeat" => o with { Repeat = Int() },
                _ => throw new FormatException($"unknown flag '{args[i]}'"),
            };
        }

        return o with { GpuResults = gpu };
    }

    private static TrainOptions Add(TrainOptions o, List<string> list, string value)
    {
        list.Add(value);
        return o;
    }
}
