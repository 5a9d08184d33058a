using System.Diagnostics;
using MoR.Data;
using MoR.IO;
using MoR.Model;

namespace MoR.Benchmarks;

/// <summary>
/// Loads a checkpoint and times it, then times loss evaluation and greedy generation on random tokens: the
/// numbers a user compares with another stack before fine-tuning (<c>mor bench model</c>).
/// </summary>
public static class ModelBenchmark
{
    /// <summary>Measures <paramref name="directory"/> on <paramref name="device"/> with frozen weights as stored.</summary>
    /// <param name="directory">A Hugging Face model folder.</param>
    /// <param name="device">Where to load it.</param>
    /// <param name="evalBatch">Rows per evaluation pass.</param>
    /// <param name="evalSeqLen">Tokens per row.</param>
    /// <param name="evalPasses">Timed evaluation passes (after one untimed).</param>
    /// <param name="promptTokens">Generation prompt length.</param>
    /// <param name="newTokens">Tokens to generate.</param>
    public static ModelBenchmarkResult Run(
        string directory, Device device, int evalBatch = 1, int evalSeqLen = 256, int evalPasses = 3, int promptTokens = 16, int newTokens = 64)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Model directory '{directory}' does not exist.");
        }

        BenchmarkEnvironment environment = BenchmarkEnvironment.Capture(device);
        long fileBytes;
        using (CheckpointReader reader = CheckpointReader.Open(directory))
        {
            fileBytes = reader.Files.Sum(f => new FileInfo(f.FilePath).Length);
        }

        GC.Collect();
        ProcessMemory.TryResetPeak();
        long before = ProcessMemory.PeakResidentBytes();
        var clock = Stopwatch.StartNew();
        using LlamaModel model = LlamaModel.Load(directory, device);
        device.Synchronize();
        double loadSeconds = clock.Elapsed.TotalSeconds;
        long afterLoad = ProcessMemory.PeakResidentBytes();

        IReadOnlyList<PackedSequence> rows = TrainBenchmark.RandomRows(model.Config.VocabSize, evalBatch, evalSeqLen, seed: 2);
        var batch = new TokenBatch(evalBatch, evalSeqLen, [.. rows.SelectMany(r => r.InputIds)], [.. rows.SelectMany(r => r.Targets)]);
        model.Evaluate(batch);
        double[] passes = new double[evalPasses];
        for (int i = 0; i < evalPasses; i++)
        {
            clock.Restart();
            model.Evaluate(batch);
            passes[i] = clock.Elapsed.TotalMilliseconds;
        }

        TimingSummary eval = TimingSummary.FromSamples(passes);
        var generator = new Generator(model);
        int[] prompt = [.. rows[0].InputIds.Take(promptTokens)];
        var options = new GenerationOptions { MaxNewTokens = newTokens, StopAtEos = false };
        generator.Generate(prompt, options with { MaxNewTokens = 2 }); // warm-up: JIT, cache allocation
        clock.Restart();
        GenerationResult generated = generator.Generate(prompt, options);
        double generateSeconds = clock.Elapsed.TotalSeconds;
        model.ReleaseActivations();

        return new ModelBenchmarkResult(
            Path.GetFullPath(directory), TrainBenchmark.ParameterCount(model.Config), fileBytes, loadSeconds, before, afterLoad,
            evalBatch * evalSeqLen, evalBatch * evalSeqLen / (eval.MedianMs / 1000), prompt.Length, generated.Tokens.Length,
            generated.Tokens.Length / generateSeconds, ProcessMemory.PeakResidentBytes(), environment);
    }
}
