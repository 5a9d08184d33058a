using System.Globalization;
using MoR.Adapters;
using MoR.Benchmarks;
using MoR.Data;
using MoR.Model;
using MoR.Training;

namespace MoR.Bench;

/// <summary>
/// <c>train-cell</c>: one of our training-step measurements in a process of its own (so its peak RSS is its
/// own), printing <see cref="TrainBenchmarkResult"/> as one JSON line. <see cref="TrainComparison"/> runs it.
/// </summary>
internal static class TrainCell
{
    /// <summary><c>model-cell DIR</c>: <see cref="ModelBenchmark"/> on a checkpoint, in a process of its own.</summary>
    public static int RunModel(IReadOnlyList<string> args)
    {
        Console.WriteLine(ModelBenchmark.Run(args[0], Device.Cpu).ToJson().ReplaceLineEndings(" "));
        return 0;
    }

    public static int Run(IReadOnlyList<string> args)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < args.Count; i += 2)
        {
            map[args[i]] = args[i + 1];
        }

        int Int(string name) => int.Parse(map[name], CultureInfo.InvariantCulture);
        string method = map["--method"];
        bool full = AdapterMethods.DefaultConfig(method) is null;
        DType frozen = map["--frozen"] == "bf16" ? DType.BF16 : DType.F32;
        using LlamaModel model = LlamaModel.Load(map["--model"], Device.Cpu, new ModelLoadOptions { Trainable = full, FrozenWeightDType = full ? null : frozen });
        var options = new TrainBenchmarkOptions(method, Int("--batch"), Int("--seq-len"), Int("--steps"), Int("--warmup"), Int("--rank"), Int("--experts"));
        IReadOnlyList<PackedSequence> rows = TrainBenchmark.ReadRows(map["--data"], model.Config.VocabSize, options.Batch, options.SeqLen);
        TrainBenchmarkResult result = TrainBenchmark.Run(model, map["--model"], options, rows);
        Console.WriteLine(result.ToJson().ReplaceLineEndings(" "));
        return 0;
    }
}
