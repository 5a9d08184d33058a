using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using MoR.Adapters;
using MoR.Model;

namespace MoR.Cli;

/// <summary>
/// <c>mor merge --model DIR --adapter DIR --output DIR [--dtype f32|bf16] [--fixed-gate mean|g1,...,gN]</c>: folds
/// the adapter into the base weights and writes a plain Hugging Face checkpoint (config.json, model.safetensors,
/// the tokenizer files). LoRA and DoRA merge exactly; MoR and MoE-LoRA only for a fixed gate vector.
/// </summary>
internal static class MergeCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Option<string>("--model") { Description = "Base model folder (Hugging Face layout)", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "Adapter folder (adapter_config.json, adapter_model.safetensors)", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Folder for the merged model", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "f32 | bf16: the dtype of the merged weights", DefaultValueFactory = _ => "f32" };
        dtype.AcceptOnlyFromAmong("f32", "bf16");
        var gate = new Option<string?>("--fixed-gate")
        {
            Description = "MoR / MoE-LoRA only: 'mean' (1/N each, what a zero router gives) or N comma-separated gate values summing to 1",
        };
        Option<string> device = CommonOptions.Device();
        Option<bool> json = CommonOptions.Json();
        var command = new Command("merge", "Merge an adapter into its base model (LoRA, DoRA; MoR and MoE-LoRA with --fixed-gate)")
        {
            model, adapter, output, dtype, gate, device, json,
        };
        command.SetAction(parse => Run(
            console, parse.GetValue(model)!, parse.GetValue(adapter)!, parse.GetValue(output)!,
            parse.GetValue(dtype) == "bf16" ? DType.BF16 : DType.F32, parse.GetValue(gate), parse.GetValue(device)!, parse.GetValue(json)));
        return command;
    }

    private static int Run(CliConsole console, string modelDir, string adapterDir, string outputDir, DType dtype, string? gateText, string deviceName, bool json)
    {
        MoR.Device device = CommonOptions.OpenDevice(deviceName);
        if (!Directory.Exists(modelDir))
        {
            throw new UsageException($"--model '{modelDir}' is not a folder.");
        }

        if (!Directory.Exists(adapterDir))
        {
            throw new UsageException($"--adapter '{adapterDir}' is not a folder.");
        }

        if (Path.GetFullPath(outputDir) == Path.GetFullPath(modelDir))
        {
            throw new UsageException("--output must differ from --model (the base model is read while the merged one is written).");
        }

        // Decide from the config alone before loading anything: a router-dependent adapter without a gate is a usage error.
        AdapterConfigFile config = AdapterConfigFile.Read(adapterDir);
        double[]? gate = ParseGate(config, gateText);

        using LlamaModel llama = LlamaModel.Load(modelDir, device, new ModelLoadOptions { FrozenWeightDType = DType.F32 });
        ModelOptions.ReportWarnings(console, llama);
        AdapterFolder.Load(adapterDir, llama);
        IReadOnlyList<string> merged = AdapterMerger.MergeInto(llama, gate);
        llama.Save(outputDir, dtype);
        FinetuneJob.CopyTokenizer(modelDir, outputDir);

        string kind = config.Config.Method.Name;
        if (json)
        {
            console.Out.WriteLine(new JsonObject
            {
                ["output"] = Path.GetFullPath(outputDir),
                ["method"] = kind,
                ["modules"] = merged.Count,
                ["dtype"] = dtype == DType.BF16 ? "bf16" : "f32",
                ["gate"] = gate is null ? null : new JsonArray([.. gate.Select(g => (JsonNode)g)]),
            }.ToJsonString());
        }
        else
        {
            string gateNote = gate is null ? string.Empty : " with gate [" + string.Join(", ", gate.Select(g => g.ToString("0.####", CultureInfo.InvariantCulture))) + "]";
            console.Out.WriteLine($"merged {kind} into {merged.Count} modules{gateNote}: {Path.GetFullPath(outputDir)} ({(dtype == DType.BF16 ? "bf16" : "f32")})");
        }

        return ExitCodes.Ok;
    }

    private static double[]? ParseGate(AdapterConfigFile config, string? text)
    {
        string kind = config.Config.Method.Name;
        if (config.Config is not RoutedAdapterConfig routed)
        {
            string routedNames = string.Join(" and ", AdapterMethods.All.Where(m => m.DefaultConfig.IsRouted).Select(m => m.DisplayName));
            return text is null ? null : throw new UsageException($"--fixed-gate applies to {routedNames} adapters only; this adapter is {kind}.");
        }

        if (text is null)
        {
            throw new UsageException(
                $"a {kind} adapter cannot be merged exactly: its router makes the weight update depend on the input x; pass --fixed-gate mean or --fixed-gate g1,...,g{routed.Experts} to merge one fixed mixture.");
        }

        int n = routed.Experts;
        if (text.Trim().Equals("mean", StringComparison.OrdinalIgnoreCase))
        {
            return AdapterMerger.MeanGate(n);
        }

        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != n)
        {
            throw new UsageException($"--fixed-gate has {parts.Length} values but the adapter has {n} experts.");
        }

        double[] gate = new double[n];
        for (int i = 0; i < n; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out gate[i]) || !double.IsFinite(gate[i]) || gate[i] < 0)
            {
                throw new UsageException($"--fixed-gate value {i + 1} '{parts[i]}' is not a non-negative number.");
            }
        }

        double sum = gate.Sum();
        if (Math.Abs(sum - 1) > 1e-3)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"--fixed-gate values sum to {sum:G6}; a softmax gate sums to 1."));
        }

        return gate;
    }

}
