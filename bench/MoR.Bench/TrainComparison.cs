using System.Diagnostics;
using System.Text.Json;
using MoR.Benchmarks;
using MoR.Data;
using MoR.Model;

namespace MoR.Bench;

/// <summary>
/// <c>train</c>: our optimizer step next to TorchSharp's on the same random checkpoint (F32 and BF16 copies) and
/// the same token batch, each measurement in its own process, then docs/PERFORMANCE.md (with the GPU records
/// of a <c>scripts/gpu-check.sh</c> run when given).
/// </summary>
internal static class TrainComparison
{
    /// <summary>Our method and the TorchSharp formulation it is compared with, per frozen dtype.</summary>
    private static readonly (string Frozen, string Ours, string[] Peers)[] Cells =
    [
        ("f32", "lora", ["lora"]),
        ("f32", "mor", ["mor", "mor-expanded"]),
        ("f32", "moe-lora", []),
        ("f32", "full", ["full"]),
        ("bf16", "lora", ["lora"]),
        ("bf16", "mor", ["mor-expanded"]),
    ];

    public static int Run(IReadOnlyList<string> args)
    {
        TrainOptions o;
        try
        {
            o = TrainOptions.Parse(args);
            _ = ModelPreset.Get(o.Preset);
            _ = ModelPreset.Get(o.ModelPreset);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(TrainOptions.Usage);
            return 2;
        }

        string work = o.WorkDirectory ?? Path.Combine(Path.GetTempPath(), "mor-train-bench");
        Directory.CreateDirectory(work);
        string f32 = Path.Combine(work, o.Preset + "-f32"), bf16 = Path.Combine(work, o.Preset + "-bf16"), batch = Path.Combine(work, "batch.jsonl");
        using (LlamaModel model = LlamaModel.CreateRandom(ModelPreset.Get(o.Preset), Device.Cpu, seed: 0, trainable: false))
        {
            model.Save(f32, DType.F32);
            model.Save(bf16, DType.BF16);
            WriteBatch(batch, TrainBenchmark.RandomRows(model.Config.VocabSize, o.Batch, o.SeqLen, seed: 1));
        }

        bool torch = o.Torch && TorchSharpRuntime.IsAvailable;
        if (o.Torch && !torch)
        {
            Console.Error.WriteLine(TorchSharpRuntime.Failure);
        }

        // Every cell runs --repeat times, ours and the peers' taking turns, and the fastest run is kept: on a
        // shared machine the slower runs measure the neighbours, and alternating spreads drift over both stacks.
        var rows = new List<ComparisonRow>();
        foreach ((string frozen, string ours, string[] peers) in Cells)
        {
            string model = frozen == "bf16" ? bf16 : f32;
            TrainRecord? mine = null;
            string? oursError = null;
            var best = peers.ToDictionary(p => p, _ => ((TrainRecord? Record, string? Error))(null, null));
            for (int run = 0; run < o.Repeat; run++)
            {
                TrainRecord? record = Child(
                    $"ours {ours} ({frozen}), run {run + 1}/{o.Repeat}",
                    ["train-cell", "--model", model, "--method", ours, "--frozen", frozen, "--batch", Str(o.Batch), "--seq-len", Str(o.SeqLen),
                     "--steps", Str(o.Steps), "--warmup", Str(o.Warmup), "--rank", Str(o.Rank), "--experts", Str(o.Experts), "--data", batch],
                    out string? error);
                mine = Faster(mine, record);
                oursError ??= error;
                foreach (string peer in torch ? peers : [])
                {
                    TrainRecord? peerRecord = Child(
                        $"torchsharp {peer} ({frozen}), run {run + 1}/{o.Repeat}",
                        ["peer", "train", "--model", model, "--method", peer, "--frozen-dtype", frozen, "--batch", Str(o.Batch), "--seq", Str(o.SeqLen),
                         "--steps", Str(o.Steps), "--warmup", Str(o.Warmup), "--rank", Str(o.Rank), "--alpha", Str(2 * o.Rank), "--experts", Str(o.Experts),
                         "--lr", "1e-4", "--batch-file", batch, "--threads", Str(Environment.ProcessorCount)],
                        out string? peerError);
                    best[peer] = (Faster(best[peer].Record, peerRecord), best[peer].Error ?? peerError);
                }
            }

            rows.Add(new ComparisonRow(
                frozen, ours, mine, mine is null ? oursError : null,
                [.. (torch ? peers : []).Select(p => (p, best[p].Record, best[p].Record is null ? best[p].Error : null))]));
        }

        ModelCells models = MeasureModel(o, work, torch);
        List<TrainRecord> gpu = [.. o.GpuResults.SelectMany(File.ReadLines).Where(l => l.TrimStart().StartsWith('{')).Select(TrainRecord.Parse)];
        string markdown = PerformanceReport.Render(o, BenchmarkEnvironment.Capture(Device.Cpu), torch ? TorchSharpRuntime.Describe() : "not run", rows, models, gpu);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(o.Output))!);
        File.WriteAllText(o.Output, markdown);
        Console.Error.WriteLine($"wrote {o.Output}");
        Console.WriteLine(markdown);
        return rows.Any(r => r.Ours is null) ? 1 : 0;
    }

    // Issue #5's comparison: a random BF16 checkpoint loaded, evaluated and sampled from by both stacks.
    private static ModelCells MeasureModel(TrainOptions o, string work, bool torch)
    {
        string dir = Path.Combine(work, o.ModelPreset + "-bf16");
        using (LlamaModel model = LlamaModel.CreateRandom(ModelPreset.Get(o.ModelPreset), Device.Cpu, seed: 0, trainable: false, DType.BF16))
        {
            model.Save(dir, DType.BF16);
        }

        JsonElement? ours = ChildJson($"ours model ({o.ModelPreset})", ["model-cell", dir], out string? error);
        JsonElement? Peer(string sub, params string[] extra) =>
            torch ? ChildJson($"torchsharp {sub} ({o.ModelPreset})", ["peer", sub, "--model", dir, "--threads", Str(Environment.ProcessorCount), .. extra], out _) : null;
        return new ModelCells(
            o.ModelPreset, dir, ours, error, Peer("load"), Peer("eval", "--batch", "1", "--seq", "256"), Peer("generate", "--prompt-tokens", "16", "--new-tokens", "64"));
    }

    private static JsonElement? ChildJson(string label, string[] args, out string? error)
    {
        string? json = ChildOutput(label, args, out error);
        if (json is null)
        {
            return null;
        }

        using JsonDocument doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private static TrainRecord? Faster(TrainRecord? a, TrainRecord? b) =>
        a is null ? b : b is null ? a : (b.TokensPerSecond > a.TokensPerSecond ? b : a);

    private static string Str(int v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static void WriteBatch(string path, IReadOnlyList<PackedSequence> rows) =>
        File.WriteAllLines(path, rows.Select(r => JsonSerializer.Serialize(new Dictionary<string, int[]> { ["input_ids"] = r.InputIds, ["labels"] = r.InputIds })));

    private static TrainRecord? Child(string label, string[] args, out string? error) =>
        ChildOutput(label, args, out error) is { } json ? TrainRecord.Parse(json) : null;

    // Runs this program again with `args`; the result is the last stdout line that is a JSON object.
    // OpenMP threads (ours and libtorch's) wait passively unless the caller says otherwise: spinning
    // waiters on a shared 2-core machine made cells 2-15x slower and erratic, for both stacks.
    private static string? ChildOutput(string label, string[] args, out string? error)
    {
        Console.Error.WriteLine($"train: {label} ...");
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null)
        {
            start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        }

        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            start.ArgumentList.Add(typeof(TrainComparison).Assembly.Location);
        }

        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        using Process process = Process.Start(start)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        string? json = stdout.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith('{'));
        if (process.ExitCode == 0 && json is not null)
        {
            error = null;
            return json;
        }

        string last = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "(no output)";
        error = $"exit {process.ExitCode}: {last.Trim()}";
        Console.Error.WriteLine($"train: {label} failed, {error}");
        return null;
    }
}

/// <summary>Issue #5's loading / evaluation / generation measurements: ours (a <see cref="ModelBenchmarkResult"/>) and TorchSharp's.</summary>
internal sealed record ModelCells(
    string Preset, string Directory, JsonElement? Ours, string? OursError, JsonElement? PeerLoad, JsonElement? PeerEval, JsonElement? PeerGenerate);

/// <summary>One of our cells with its peers' measurements.</summary>
internal sealed record ComparisonRow(
    string Frozen, string Method, TrainRecord? Ours, string? OursError, IReadOnlyList<(string Method, TrainRecord? Record, string? Error)> Peers);
