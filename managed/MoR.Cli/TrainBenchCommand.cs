using MoR.Adapters;
using System.CommandLine;
using MoR.Benchmarks;
using MoR.Data;
using MoR.Model;
using MoR.Training;

namespace MoR.Cli;

/// <summary>
/// <c>mor bench train</c>: tokens/s, peak memory and op breakdown of one optimizer step per method on a model
/// folder or a random preset (<see cref="TrainBenchmark"/>). <c>--write-model</c> saves the random preset as a
/// Hugging Face folder first, so a peer (PyTorch, TorchSharp) can load exactly the same weights.
/// </summary>
internal static class TrainBenchCommand
{
    public static Command Create(CliConsole console)
    {
        var d = new TrainBenchmarkOptions();
        var model = new Option<string?>("--model") { Description = "Hugging Face model folder (default: a random --preset)" };
        var preset = new Option<string>("--preset") { Description = "Random model when no --model: " + string.Join(", ", ModelPreset.Names), DefaultValueFactory = _ => "30m" };
        preset.AcceptOnlyFromAmong([.. ModelPreset.Names]);
        var writeModel = new Option<string?>("--write-model") { Description = "Save the random preset to this folder (BF16 with --bf16-base, else F32) before timing" };
        var methods = new Option<string[]>("--method") { Description = $"{string.Join(", ", AdapterMethods.Names)} (repeatable; default lora and mor)", AllowMultipleArgumentsPerToken = true };
        methods.AcceptOnlyFromAmong([.. AdapterMethods.Names]);
        var batch = new Option<int>("--batch") { Description = "Rows per step", DefaultValueFactory = _ => d.Batch };
        var seq = new Option<int>("--seq-len") { Description = "Tokens per row", DefaultValueFactory = _ => d.SeqLen };
        var steps = new Option<int>("--steps") { Description = "Timed steps per method", DefaultValueFactory = _ => d.Steps };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps first", DefaultValueFactory = _ => d.Warmup };
        var rank = new Option<int>("--rank", "-r") { Description = "Adapter rank", DefaultValueFactory = _ => d.Rank };
        var experts = new Option<int>("--experts") { Description = "Experts N (routed methods)", DefaultValueFactory = _ => d.Experts };
        var targets = new Option<string[]>("--target") { Description = "Adapted projections (repeatable; default gate_proj up_proj down_proj)", AllowMultipleArgumentsPerToken = true };
        var bf16 = new Option<bool>("--bf16-base") { Description = "Frozen base weights in BF16" };
        var tf32 = new Option<bool>("--tf32") { Description = "Allow TF32 tensor cores for F32 GEMMs and BF16 tensor-core attention (CUDA)" };
        var recompute = new Option<bool>("--recompute") { Description = "Recompute activations in backward" };
        var data = new Option<string?>("--data") { Description = "JSONL batch ({\"input_ids\", \"labels\"} per row, HF convention) instead of random tokens: compare losses with a peer" };
        var noBreakdown = new Option<bool>("--no-breakdown") { Description = "Skip the profiled step" };
        var seed = new Option<ulong>("--seed") { Description = "Seeds the random model, adapters and tokens", DefaultValueFactory = _ => d.Seed };
        Option<string> device = CommonOptions.Device();
        Option<bool> json = CommonOptions.Json();
        var command = new Command("train", "Tokens/s, peak memory and op breakdown of one optimizer step (forward + backward + AdamW) per method")
        {
            model, preset, writeModel, methods, batch, seq, steps, warmup, rank, experts, targets, bf16, tf32, recompute, data, noBreakdown, seed, device, json,
        };
        command.SetAction(parse =>
        {
            string? modelDir = parse.GetValue(model);
            string? writeDir = parse.GetValue(writeModel);
            if (modelDir is not null && writeDir is not null)
            {
                throw new UsageException("--write-model saves a random --preset; it cannot be combined with --model.");
            }

            string[] names = parse.GetValue(methods) is { Length: > 0 } m ? [.. m.Distinct()] : ["lora", "mor"];
            var baseOptions = new TrainBenchmarkOptions(
                names[0], parse.GetValue(batch), parse.GetValue(seq), parse.GetValue(steps), parse.GetValue(warmup), parse.GetValue(rank),
                parse.GetValue(experts), parse.GetValue(targets) is { Length: > 0 } t ? t : null, d.LearningRate, !parse.GetValue(noBreakdown),
                parse.GetValue(seed));
            try
            {
                baseOptions.Validate();
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }

            MoR.Device dev = CommonOptions.OpenDevice(parse.GetValue(device)!);
            dev.AllowTf32 = parse.GetValue(tf32);
            DType frozen = parse.GetValue(bf16) ? DType.BF16 : DType.F32;
            string presetName = parse.GetValue(preset)!;
            if (writeDir is not null)
            {
                using LlamaModel random = LlamaModel.CreateRandom(ModelPreset.Get(presetName), dev, baseOptions.Seed, trainable: false, frozen);
                ModelFolderWriter.SaveReplacing(random, writeDir, frozen);
                console.Error.WriteLine($"mor: wrote the random '{presetName}' model to {writeDir}");
                modelDir = writeDir;
            }

            bool asJson = parse.GetValue(json);
            var results = new List<TrainBenchmarkResult>();
            foreach (string name in names)
            {
                bool full = name == AdapterMethods.FullFineTuning;
                using LlamaModel loaded = modelDir is not null
                    ? LlamaModel.Load(modelDir, dev, new ModelLoadOptions { Trainable = full, FrozenWeightDType = full ? null : frozen })
                    : LlamaModel.CreateRandom(ModelPreset.Get(presetName), dev, baseOptions.Seed, full, frozen);
                loaded.RecomputeActivations = parse.GetValue(recompute);
                console.Error.WriteLine($"mor: timing {name} ...");
                IReadOnlyList<PackedSequence>? rows = parse.GetValue(data) is { } path
                    ? TrainBenchmark.ReadRows(path, loaded.Config.VocabSize, baseOptions.Batch, baseOptions.SeqLen)
                    : null;
                TrainBenchmarkResult result = TrainBenchmark.Run(loaded, modelDir ?? presetName, baseOptions with { Method = name }, rows);
                results.Add(result);
                if (asJson)
                {
                    console.Out.WriteLine(result.ToJson().ReplaceLineEndings(" "));
                }
            }

            if (!asJson)
            {
                console.Out.WriteLine(TrainBenchmarkTable.Format(results).TrimEnd());
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
