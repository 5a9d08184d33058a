using System.CommandLine;
using System.Globalization;
using MoR.Adapters;
using MoR.Training;

namespace MoR.Cli;

/// <summary><c>mor finetune</c>: every training flag; with no arguments at all, the embedded quickstart.</summary>
internal static class FinetuneCommand
{
    public static Command Create(CliConsole console)
    {
        var d = new TrainingOptions();
        var model = new Option<string?>("--model") { Description = "Hugging Face base model folder (config.json, *.safetensors, tokenizer)" };
        var data = new Option<string?>("--data") { Description = "Training data, JSONL: {\"text\"}, {\"prompt\",\"completion\"}, {\"messages\"} or {\"input_ids\"[,\"labels\"]}" };
        var evalData = new Option<string?>("--eval-data") { Description = "Validation data (JSONL); default: a --val-split of --data" };
        var valSplit = new Option<double>("--val-split") { Description = "Fraction of --data held out for validation without --eval-data", DefaultValueFactory = _ => 0.05 };
        var output = new Option<string>("--output", "-o") { Description = "Output folder (adapter/, checkpoints/, metrics.jsonl, loss.png, training_config.json)", DefaultValueFactory = _ => "mor-output" };
        var method = new Option<string>("--method") { Description = string.Join(" | ", AdapterMethods.Names), DefaultValueFactory = _ => d.MethodName };
        method.AcceptOnlyFromAmong([.. AdapterMethods.Names]);
        AdapterFlagSet adapterFlags = AdapterFlagSet.Create();
        var lr = new Option<float>("--lr") { Description = "Peak learning rate", DefaultValueFactory = _ => d.LearningRate };
        var warmup = new Option<int>("--warmup") { Description = "Linear warm-up steps", DefaultValueFactory = _ => d.WarmupSteps };
        var minLr = new Option<float>("--min-lr-ratio") { Description = "Cosine floor as a fraction of --lr", DefaultValueFactory = _ => d.MinLearningRateRatio };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps", DefaultValueFactory = _ => d.MaxSteps };
        var beta1 = new Option<float>("--beta1") { DefaultValueFactory = _ => d.Beta1, Description = "AdamW beta1" };
        var beta2 = new Option<float>("--beta2") { DefaultValueFactory = _ => d.Beta2, Description = "AdamW beta2" };
        var eps = new Option<float>("--eps") { DefaultValueFactory = _ => d.Epsilon, Description = "AdamW epsilon" };
        var wd = new Option<float>("--weight-decay") { DefaultValueFactory = _ => d.WeightDecay, Description = "Decoupled weight decay (not on omega scales, magnitudes, norms)" };
        var clip = new Option<float>("--max-grad-norm") { DefaultValueFactory = _ => d.MaxGradNorm, Description = "Global gradient-norm clip; 0 = off" };
        var accum = new Option<int>("--grad-accum") { DefaultValueFactory = _ => d.GradientAccumulation, Description = "Micro-batches per optimizer step" };
        var micro = new Option<int>("--micro-batch") { DefaultValueFactory = _ => d.MicroBatchSize, Description = "Rows per micro-batch" };
        var seqLen = new Option<int>("--seq-len") { DefaultValueFactory = _ => d.SequenceLength, Description = "Tokens per row" };
        var noPacking = new Option<bool>("--no-packing") { Description = "One example per row" };
        var trainOnPrompt = new Option<bool>("--train-on-prompt") { Description = "Also take loss on prompts / user turns" };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 0UL, Description = "Seed for adapters and data order" };
        var evalEvery = new Option<int>("--eval-every") { DefaultValueFactory = _ => 0, Description = "Evaluate every N steps (and at the end)" };
        var evalBatches = new Option<int>("--eval-batches") { DefaultValueFactory = _ => 0, Description = "Max validation micro-batches per evaluation; 0 = all" };
        var saveEvery = new Option<int>("--save-every") { DefaultValueFactory = _ => 0, Description = "Checkpoint every N steps (always at the end and on Ctrl-C)" };
        var skip = new Option<bool>("--skip-nonfinite") { Description = "Skip and count steps with NaN/Inf loss or gradient instead of stopping" };
        var resume = new Option<bool>("--resume") { Description = "Continue exactly from the newest checkpoint in --output" };
        var recompute = new Option<bool>("--recompute") { Description = "Recompute activations in backward (less memory)" };
        var bf16 = new Option<bool>("--bf16-base") { Description = "Keep the frozen base weights in BF16" };
        var memoryLimit = new Option<string?>("--memory-limit") { Description = "Refuse runs estimated to need more than this (e.g. 20G); default: the memory free on the device (CPU: MemAvailable or the cgroup limit)" };
        var nproc = new Option<int>("--nproc") { Description = "Data-parallel ranks on this machine: mor reruns itself under mpirun -np K (each rank takes 1/K of the micro-batches; docs/SCALING.md)", DefaultValueFactory = _ => 1 };
        Option<string> device = CommonOptions.Device();
        Option<bool> json = CommonOptions.Json();
        Option<string?> chatFormat = CommonOptions.ChatFormat();

        var command = new Command("finetune", "Fine-tune a model with LoRA, DoRA, MoE-LoRA, MoR or full fine-tuning; with no arguments, run the embedded quickstart")
        {
            model, data, evalData, valSplit, output, method, lr, warmup, minLr, steps,
            beta1, beta2, eps, wd, clip, accum, micro, seqLen, noPacking, trainOnPrompt, seed, evalEvery, evalBatches, saveEvery, skip,
            resume, recompute, bf16, memoryLimit, nproc, device, json, chatFormat,
        };
        adapterFlags.AddTo(command);
        command.SetAction(parse =>
        {
            string? modelDir = parse.GetValue(model), dataPath = parse.GetValue(data);
            if (parse.GetValue(nproc) > 1)
            {
                // The mor executable takes --nproc out before parsing (MpiLauncher in Program.Main); here it was not.
                throw new UsageException("--nproc K is taken by the mor executable, which restarts itself under mpirun; here mor runs in-process (use mpirun -np K mor finetune ...).");
            }

            if (modelDir is null && dataPath is null)
            {
                if (MoR.Distributed.Communicator.LaunchedByMpi)
                {
                    throw new UsageException("the quickstart runs on one rank; give --model and --data to train with several.");
                }

                bool explicitOutput = parse.GetResult(output) is { Implicit: false };
                return Quickstart.Run(console, parse.GetValue(device)!, parse.GetValue(json), explicitOutput ? parse.GetValue(output) : null);
            }

            if (modelDir is null || dataPath is null)
            {
                throw new UsageException(modelDir is null ? "--data needs --model DIR (or give neither for the quickstart)." : "--model needs --data FILE.jsonl.");
            }

            var options = new TrainingOptions
            {
                Adapter = adapterFlags.Config(parse, parse.GetValue(method)!),
                LearningRate = parse.GetValue(lr),
                WarmupSteps = parse.GetValue(warmup),
                MinLearningRateRatio = parse.GetValue(minLr),
                MaxSteps = parse.GetValue(steps),
                Beta1 = parse.GetValue(beta1),
                Beta2 = parse.GetValue(beta2),
                Epsilon = parse.GetValue(eps),
                WeightDecay = parse.GetValue(wd),
                MaxGradNorm = parse.GetValue(clip),
                GradientAccumulation = parse.GetValue(accum),
                MicroBatchSize = parse.GetValue(micro),
                SequenceLength = parse.GetValue(seqLen),
                Packing = !parse.GetValue(noPacking),
                MaskPrompt = !parse.GetValue(trainOnPrompt),
                Seed = parse.GetValue(seed),
                EvalEvery = parse.GetValue(evalEvery),
                EvalBatches = parse.GetValue(evalBatches),
                SaveEvery = parse.GetValue(saveEvery),
                SkipNonFinite = parse.GetValue(skip),
            };
            double split = parse.GetValue(valSplit);
            try
            {
                options.Validate();
                if (split is < 0 or >= 1)
                {
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--val-split must be in [0, 1); got {split}."));
                }
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message.Split(" (Parameter", 2)[0]);
            }

            return FinetuneJob.Run(console, new FinetuneSettings
            {
                ModelDirectory = modelDir,
                DataPath = dataPath,
                EvalDataPath = parse.GetValue(evalData),
                ValidationSplit = split,
                OutputDirectory = parse.GetValue(output)!,
                Training = options,
                Device = parse.GetValue(device)!,
                Resume = parse.GetValue(resume),
                Json = parse.GetValue(json),
                Recompute = parse.GetValue(recompute),
                Bf16Base = parse.GetValue(bf16),
                MemoryLimitBytes = parse.GetValue(memoryLimit) is string limit ? ByteSize.Parse(limit, "--memory-limit") : null,
                ChatFormat = parse.GetValue(chatFormat),
            });
        });
        return command;
    }
}
