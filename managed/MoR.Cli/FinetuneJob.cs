using MoR.Adapters;
using System.Text.Json;
using System.Text.Json.Nodes;
using MoR.Data;
using MoR.Distributed;
using MoR.Interop;
using MoR.IO;
using MoR.Model;
using MoR.Tokenization;
using MoR.Training;

namespace MoR.Cli;

/// <summary>
/// <c>mor finetune --model DIR --data FILE</c>: load, attach adapters (or train every weight), read and pack
/// the data, train with checkpoints, then write the adapter (or model), metrics.jsonl, the loss plot and
/// training_config.json into the output folder. Under mpirun (<c>mpirun -np K mor finetune</c> or
/// <c>mor finetune --nproc K</c>) every rank runs this with its shard of the data; rank 0 alone prints and
/// writes files (docs/SCALING.md).
/// </summary>
internal static class FinetuneJob
{
    public static int Run(CliConsole console, FinetuneSettings s)
    {
        using Communicator comm = Communicator.FromEnvironment();
        try
        {
            return Run(console, s, comm);
        }
        catch (Exception e) when (comm.IsDistributed)
        {
            // The peers are waiting in (or will reach) a collective this rank never joins: a normal exit would
            // leave them to time out. End the whole job now, naming the rank and the cause.
            string what = e is CommunicationException ? "communication failed (a peer rank died or hung)" : e.GetType().Name;
            console.Error.WriteLine($"mor: error: rank {comm.Rank} of {comm.Size}: {what}: {e.Message}");
            console.Error.WriteLine($"mor: aborting all {comm.Size} ranks; resume from the last checkpoint with --resume");
            comm.Abort(ExitCodes.RuntimeError);
            throw; // not reached: Abort ends the process
        }
    }

    private static int Run(CliConsole console, FinetuneSettings s, Communicator comm)
    {
        ITrainingProgress progress = comm.IsRoot ? TrainingProgress.For(console, s.Json) : new QuietProgress();
        TrainingOptions o = s.Training;
        MoR.Device device = CommonOptions.OpenDevice(s.Device);
        progress.Info($"mor finetune: {o.MethodName} on {s.ModelDirectory} ({device}), data {s.DataPath}");

        // The config and the checkpoint's tensor list first (no weight is read): sizes are checked before the data
        // is read against the model's vocabulary and the run's memory is estimated from them.
        LlamaConfig config = LlamaModel.ReadAndVerify(s.ModelDirectory, out SafeTensorDType storedDType);
        ITextTokenizer tokenizer = TokenizerLoader.FromDirectory(s.ModelDirectory);
        IChatFormat? chat = TryChat(s.ModelDirectory, s.ChatFormat);
        var encoder = new ExampleEncoder(tokenizer, chat, o.MaskPrompt, config.VocabSize);
        List<TokenizedExample> examples = JsonlDataset.Read(s.DataPath, encoder);
        List<TokenizedExample> train, validation;
        if (s.EvalDataPath is not null)
        {
            (train, validation) = (examples, JsonlDataset.Read(s.EvalDataPath, encoder));
        }
        else
        {
            (train, validation) = DatasetSplit.Split(examples, s.ValidationSplit, o.Seed);
        }

        long rows = SequencePacker.CountRows(train, o.SequenceLength, o.Packing) + SequencePacker.CountRows(validation, o.SequenceLength, o.Packing);
        EnsureMemory(s, config, storedDType, device, rows);

        int pad = tokenizer.PadId ?? tokenizer.EosId;
        List<PackedSequence> trainRows = SequencePacker.Pack(train, o.SequenceLength, pad, o.Packing, out int truncated);
        List<PackedSequence> validationRows = SequencePacker.Pack(validation, o.SequenceLength, pad, o.Packing, out _);
        if (trainRows.All(r => r.TargetCount == 0))
        {
            // Every labelled token fell past the end of its row: the run would train on nothing.
            throw new DataFormatException(s.DataPath, $"after truncation to rows of {o.SequenceLength} tokens no training token takes a loss; raise --seq-len.");
        }

        progress.Info($"data: {train.Count} training examples -> {trainRows.Count} rows of {o.SequenceLength}; {validation.Count} validation examples" +
                      (truncated > 0 ? $"; {truncated} examples truncated to {o.SequenceLength + 1} tokens" : string.Empty));

        var loadOptions = new ModelLoadOptions { Trainable = o.FullFineTuning, FrozenWeightDType = s.Bf16Base ? DType.BF16 : null };
        using LlamaModel model = LlamaModel.Load(s.ModelDirectory, device, loadOptions);
        foreach (string warning in model.LoadWarnings)
        {
            progress.Info($"warning: {warning}");
        }

        model.RecomputeActivations = s.Recompute;
        return Train(console, progress, s, model, trainRows, validationRows, "finetune", comm);
    }

    /// <summary>Refuses, before anything large is allocated, a run the device (or host) cannot hold.</summary>
    private static void EnsureMemory(FinetuneSettings s, LlamaConfig config, SafeTensorDType storedDType, MoR.Device device, long rows)
    {
        TrainingOptions o = s.Training;
        bool cuda = device.Kind == DeviceKind.Cuda;
        int frozenBytes = s.Bf16Base || storedDType == SafeTensorDType.BF16 ? 2 : 4;  // F16 is widened to F32 on load
        TrainingMemoryEstimate estimate = TrainingMemoryEstimate.For(
            config, o, frozenBytes, s.Recompute, attentionWorkers: cuda ? 0 : MoR.Device.CpuThreads, dataRows: rows);
        MemoryLimit limit = s.MemoryLimitBytes is long bytes ? new MemoryLimit(bytes, "--memory-limit") : AvailableMemory.For(device);
        estimate.EnsureFits(limit, cuda ? AvailableMemory.Host() : null, o);
    }

    /// <summary>The shared second half (also used by the quickstart): adapters, trainer, outputs (rank 0 only).</summary>
    public static int Train(
        CliConsole console, ITrainingProgress progress, FinetuneSettings s, LlamaModel model,
        List<PackedSequence> trainRows, List<PackedSequence> validationRows, string title, Communicator? comm = null)
    {
        TrainingOptions o = s.Training;
        bool root = comm is null || comm.IsRoot;
        if (o.Adapter is { } adapter)
        {
            IReadOnlyList<string> adapted = AdapterInjector.Attach(model, adapter, o.Seed);
            progress.Info($"adapters: {adapter} on {adapted.Count} modules");
        }

        var trainingModel = new LlamaTrainingModel(model);
        using var trainer = new Trainer(trainingModel, o, trainRows, validationRows, FinetuneOutputs.Checkpoints(s.OutputDirectory), comm);
        if (s.Resume)
        {
            // Before anything in the output folder is written: a failed resume leaves it as it was.
            string from = trainer.Resume(s.OutputDirectory, out IReadOnlyList<SkippedCheckpoint> skipped);
            foreach (SkippedCheckpoint skip in skipped)
            {
                progress.Info($"warning: skipped checkpoint {skip.Checkpoint}: {skip.Reason}");
            }

            progress.Info($"resumed from {from} at step {trainer.Step}" + (skipped.Count > 0 ? $" (the newest readable checkpoint; {skipped.Count} newer skipped)" : string.Empty));
        }

        if (root)
        {
            Directory.CreateDirectory(s.OutputDirectory);
            AtomicFile.WriteAllText(FinetuneOutputs.Config(s.OutputDirectory), ConfigJson(s, comm?.Size ?? 1));
        }

        progress.Info($"training {trainer.TrainableParameterCount:N0} parameters for {o.MaxSteps} steps " +
                      $"({(trainer.Ranks > 1 ? $"{trainer.Ranks} ranks x " : string.Empty)}{o.MicroBatchSize} x {o.GradientAccumulation} rows of {o.SequenceLength} tokens per step)");
        MetricsLog? metrics = root ? new MetricsLog(FinetuneOutputs.Metrics(s.OutputDirectory), trainer.Step) : null;
        metrics?.Attach(trainer);
        TrainingResult result;
        string? plot;
        try
        {
            console.TrainerCreated?.Invoke(trainer);
            result = progress.Run(trainer, title, () => trainer.Run(console.Cancellation));
        }
        catch (MoR.Interop.NativeOutOfMemoryException oom)
        {
            AllocatorStats a = model.Device.AllocatorStats;
            throw new TrainingOutOfMemoryException(
                oom,
                $"step {trainer.Step + 1}: micro-batch {o.MicroBatchSize} x seq-len {o.SequenceLength} = {(long)o.MicroBatchSize * o.SequenceLength:N0} tokens, " +
                $"{trainer.TrainableParameterCount:N0} trainable parameters; {model.Device}: {Mib(a.LiveBytes)} in use, peak {Mib(a.PeakBytes)}, " +
                $"{Mib(a.ReservedBytes)} reserved" + (model.Device.Kind == DeviceKind.Cuda ? $" of {Mib(model.Device.TotalMemoryBytes)}" : string.Empty));
        }
        finally
        {
            // Closed before the plot reads it: Windows refuses to open a file for reading while another
            // handle has it open for writing (a sharing violation), where Linux lets both proceed.
            metrics?.Dispose();
            plot = TrySavePlot(s.OutputDirectory, progress, title, root);
        }

        if (!root)
        {
            return ExitCodes.Ok; // rank 0 writes the adapter and reports
        }

        string saved = SaveResult(s, model);
        TestPausePoints.At("finetune.adapter-saved", result.Step);
        var summary = new JsonObject
        {
            ["type"] = "result",
            ["completed"] = result.Completed,
            ["step"] = result.Step,
            ["loss"] = double.IsFinite(result.LastLoss) ? result.LastLoss : null,
            ["eval_loss"] = result.LastEval is { } e && double.IsFinite(e.Loss) ? e.Loss : null,
            ["skipped_steps"] = result.SkippedSteps,
            ["seconds"] = Math.Round(result.Elapsed.TotalSeconds, 2),
            ["output"] = saved,
            ["checkpoint"] = result.Checkpoint,
            ["metrics"] = FinetuneOutputs.Metrics(s.OutputDirectory),
            ["loss_plot"] = plot,
        };
        if (s.Json)
        {
            console.Out.WriteLine(summary.ToJsonString());
        }
        else
        {
            console.Out.WriteLine(result.Completed
                ? $"trained {result.Step} steps in {result.Elapsed.TotalSeconds:F1} s; final loss {result.LastLoss:F4}" + (result.LastEval is { } ev ? $", validation loss {ev.Loss:F4}" : string.Empty)
                : $"interrupted at step {result.Step}; resume with --resume (checkpoint {result.Checkpoint})");
            console.Out.WriteLine($"{(o.FullFineTuning ? "model" : "adapter")}: {saved}");
            console.Out.WriteLine($"metrics: {FinetuneOutputs.Metrics(s.OutputDirectory)}");
            if (plot is not null)
            {
                console.Out.WriteLine($"loss plot: {plot}");
            }
        }

        return ExitCodes.Ok;
    }

    private static string Mib(long bytes) => $"{bytes / (1024.0 * 1024.0):F1} MiB";

    private static string SaveResult(FinetuneSettings s, LlamaModel model)
    {
        if (s.Training.FullFineTuning)
        {
            string dir = FinetuneOutputs.FullModel(s.OutputDirectory);
            model.Save(dir, DType.F32);
            CopyTokenizer(s.ModelDirectory, dir);
            return dir;
        }

        string adapter = FinetuneOutputs.Adapter(s.OutputDirectory);
        AdapterFolder.Save(adapter, model, Path.GetFullPath(s.ModelDirectory));
        return adapter;
    }

    /// <summary>Copies the tokenizer files a model folder needs beside its weights.</summary>
    public static void CopyTokenizer(string from, string to)
    {
        foreach (string name in (string[])["tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json", "generation_config.json", ChatTemplate.TemplateFileName])
        {
            string source = Path.Combine(from, name);
            if (File.Exists(source))
            {
                File.Copy(source, Path.Combine(to, name), overwrite: true);
            }
        }
    }

    /// <summary>Draws the loss plot; returns its path, or null (after one warning line) when it was not written.</summary>
    private static string? TrySavePlot(string output, ITrainingProgress progress, string title, bool root)
    {
        string metrics = FinetuneOutputs.Metrics(output);
        if (!root || !File.Exists(metrics))
        {
            return null;
        }

        string png = FinetuneOutputs.LossPlot(output);
        try
        {
            LossPlot.Save(metrics, png, title.StartsWith("mor", StringComparison.Ordinal) ? title : $"mor {title}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException
                                       or TypeInitializationException or DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            // A missing font or graphics library must not lose a finished training run.
            progress.Info($"warning: the loss plot was not written ({OneLine(Innermost(e).Message)})");
            return null;
        }

        if (!PlotFonts.HasFont)
        {
            progress.Info($"warning: no font is installed, so {png} has no titles or labels");
        }

        return png;  // LossPlot.Save renames its finished temporary file onto png: returning means it exists
    }

    private static Exception Innermost(Exception e) => e is TypeInitializationException { InnerException: { } inner } ? Innermost(inner) : e;

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    // The model's chat_template, or the named built-in format. A template that does not parse is an error (one line
    // naming the file and line); no template at all only matters to "messages" records, which then fail naming their line.
    private static IChatFormat? TryChat(string modelDirectory, string? format)
    {
        try
        {
            return ChatFormats.FromDirectory(modelDirectory, format);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or ArgumentException or NotSupportedException or JsonException && e is not MoR.Templates.TemplateException)
        {
            return null;
        }
    }

    private static string ConfigJson(FinetuneSettings s, int ranks)
    {
        JsonObject training = JsonSerializer.SerializeToNode(s.Training, TrainingJson.Options)!.AsObject();
        var root = new JsonObject
        {
            ["model"] = Path.GetFullPath(s.ModelDirectory),
            ["data"] = s.DataPath,
            ["eval_data"] = s.EvalDataPath,
            ["validation_split"] = s.EvalDataPath is null ? s.ValidationSplit : null,
            ["device"] = s.Device,
            ["recompute"] = s.Recompute,
            ["bf16_base"] = s.Bf16Base,
            ["ranks"] = ranks,
            ["dropout_applied"] = s.Training.Adapter?.Dropout > 0,
            ["training"] = training,
        };
        return root.ToJsonString(TrainingJson.Options) + "\n";
    }
}
