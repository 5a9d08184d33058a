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
            WriteBatch(batch, TrainBenchmark.RandomRows(model.Config.VocabSize, o.MainBatch, o.SeqLen, seed: 1));
        }

        bool torch = o.Torch && TorchSharpRuntime.IsAvailable;
        if (o.Torch && !torch)
        {
            Console.Error.WriteLine(TorchSharpRuntime.Failure);
        }

        // Every cell runs --repeat times, ours and the peers' taking turns, and the fastest run is kept: on a
        // shared machine the slower runs measure the neighbours, and alternating spreads drift over both stacks.
        // Then the same again beside one busy thread (a shell busy loop): what a user sees with anything else running.
        var rows = new List<ComparisonRow>();
        foreach (int rowsPerStep in o.Batches)
        {
            foreach ((string frozen, string ours, string[] peers) in Cells)
            {
                string model = frozen == "bf16" ? bf16 : f32;
                string[] oursArgs =
                    ["train-cell", "--model", model, "--method", ours, "--frozen", frozen, "--batch", Str(rowsPerStep), "--seq-len", Str(o.SeqLen),
                     "--steps", Str(o.Steps), "--warmup", Str(o.Warmup), "--rank", Str(o.Rank), "--experts", Str(o.Experts), "--data", batch];
                string[] PeerArgs(string peer) =>
                    ["peer", "train", "--model", model, "--method", peer, "--frozen-dtype", frozen, "--batch", Str(rowsPerStep), "--seq", Str(o.SeqLen),
                     "--steps", Str(o.Steps), "--warmup", Str(o.Warmup), "--rank", Str(o.Rank), "--alpha", Str(2 * o.Rank), "--experts", Str(o.Experts),
                     "--lr", "1e-4", "--batch-file", batch];
                // The per-expert TorchSharp MoR (N separate LoRA pairs in a loop) runs ~1 minute per step at 8 x 256:
                // it is measured at micro-batch 1 only; the rank-expanded formulation stands for it above that.
                string[] activePeers = torch ? [.. peers.Where(p => p != "mor" || rowsPerStep == 1)] : [];
                string label = $"{ours} ({frozen}, {rowsPerStep} x {o.SeqLen})";
                CellRuns quiet = Measure(o.Repeat, label, oursArgs, activePeers, PeerArgs, busy: false);
                CellRuns? loaded = o.UnderLoad ? Measure(o.Repeat, label, oursArgs, activePeers, PeerArgs, busy: true) : null;
                rows.Add(new ComparisonRow(
                    rowsPerStep, frozen, ours, quiet.Ours.Record, quiet.Ours.Error, loaded?.Ours.Record,
                    [.. activePeers.Select(p => new PeerCell(p, quiet.Peers[p].Record, quiet.Peers[p].Error, loaded?.Peers[p].Record))]));
            }
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
            torch ? ChildJson($"torchsharp {sub} ({o.ModelPreset})", ["peer", sub, "--model", dir, .. extra], out _) : null;
        return new ModelCells(
            o.ModelPreset, dir, ours, error, Peer("load"), Peer("eval", "--batch", "1", "--seq", "256"), Peer("generate", "--prompt-tokens", "16", "--new-tokens", "64"));
    }

    // One cell's runs: ours and each peer's, alternating, the fastest kept; with `busy`, beside a busy loop.
    private static CellRuns Measure(
        int repeat, string label, string[] oursArgs, string[] peers, Func<string, string[]> peerArgs, bool busy)
    {
        (TrainRecord? Record, string? Error) ours = (null, null);
        var best = peers.ToDictionary(p => p, _ => ((TrainRecord? Record, string? Error))(null, null));
        string when = busy ? ", beside a busy thread" : string.Empty;
        for (int run = 0; run < repeat; run++)
        {
            using (BusyLoop.StartIf(busy))
            {
                TrainRecord? record = Child($"ours {label}{when}, run {run + 1}/{repeat}", oursArgs, out string? error);
                ours = (Faster(ours.Record, record), ours.Error ?? error);
            }

            foreach (string peer in peers)
            {
                using (BusyLoop.StartIf(busy))
                {
                    TrainRecord? record = Child($"torchsharp {peer} {label}{when}, run {run + 1}/{repeat}", peerArgs(peer), out string? error);
                    best[peer] = (Faster(best[peer].Record, record), best[peer].Error ?? error);
                }
            }
        }

        return new CellRuns(ours, best);
    }

    private sealed record CellRuns((TrainRecord? Record, string? Error) Ours, Dictionary<string, (TrainRecord? Record, string? Error)> Peers);

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

    // Runs this program again with `args`; the result is the last stdout line that is a JSON object. Both stacks
    // run as a user runs them: no thread-count or wait-policy variables are set for either (those of this
    // process's environment pass through unchanged).
    private static string? ChildOutput(string label, string[] args, out string? error)
    {
        Console.Error.WriteLine($"train: {label} ...");
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };

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

/// <summary>One of our cells with its peers' measurements, on a quiet machine and beside one busy thread (null: not run).</summary>
internal sealed record ComparisonRow(
    int Batch, string Frozen, string Method, TrainRecord? Ours, string? OursError, TrainRecord? OursLoaded, IReadOnlyList<PeerCell> Peers);

/// <summary>A peer formulation's measurements for one of our cells.</summary>
internal sealed record PeerCell(string Method, TrainRecord? Record, string? Error, TrainRecord? Loaded);
