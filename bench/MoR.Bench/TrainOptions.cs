using System.Globalization;

namespace MoR.Bench;

/// <summary>The <c>train</c> mode's flags.</summary>
internal sealed record TrainOptions(
    string Preset, IReadOnlyList<int> Batches, int SeqLen, int Steps, int Warmup, int Rank, int Experts, bool Torch, IReadOnlyList<string> GpuResults,
    string Output, string? WorkDirectory, string ModelPreset = "100m", int Repeat = 2, bool UnderLoad = true)
{
    public const string Usage =
        "usage: run-benchmarks.sh train [--preset 30m] [--batch 8 --batch 1] [--seq-len 256] [--steps 5] [--warmup 2] [--rank 32] [--experts 8]\n" +
        "                                [--no-torch] [--gpu-results FILE.jsonl ...] [--output docs/PERFORMANCE.md] [--work DIR]\n" +
        "                                [--model-preset 100m]   (the BF16 checkpoint for load / eval / generation)\n" +
        "                                [--repeat 2]            (process runs per cell, ours and the peer's alternating; the fastest is kept)\n" +
        "                                [--no-load]             (skip the runs beside one busy thread)";

    /// <summary>The largest micro-batch measured: what the targets refer to.</summary>
    public int MainBatch => Batches.Max();

    public static TrainOptions Parse(IReadOnlyList<string> args)
    {
        var o = new TrainOptions("30m", [], 256, 5, 2, 32, 8, true, [], "docs/PERFORMANCE.md", null);
        var gpu = new List<string>();
        var batches = new List<int>();
        for (int i = 0; i < args.Count; i++)
        {
            string Next() => i + 1 < args.Count ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            int Int() => int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0
                ? v
                : throw new FormatException($"{args[i - 1]} needs a positive integer, got '{args[i]}'");
            o = args[i] switch
            {
                "--preset" => o with { Preset = Next() },
                "--batch" => Add(o, batches, Int()),
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
                "--no-load" => o with { UnderLoad = false },
                _ => throw new FormatException($"unknown flag '{args[i]}'"),
            };
        }

        return o with { GpuResults = gpu, Batches = batches.Count > 0 ? [.. batches.Distinct()] : [8, 1] };
    }

    private static TrainOptions Add<T>(TrainOptions o, List<T> list, T value)
    {
        list.Add(value);
        return o;
    }
}
