using MoR.Adapters;
using MoR.IO;
using MoR.Modules;

namespace MoR.Model;

/// <summary>
/// Adapter folders in PEFT's layout (MOR.md §6): <c>adapter_config.json</c> and <c>adapter_model.safetensors</c>
/// holding only adapter tensors, keyed <c>base_model.model.&lt;module path&gt;.&lt;suffix&gt;</c> with no adapter
/// name (PEFT strips it; DoRA's magnitude is saved as <c>…lora_magnitude_vector</c>, without <c>.weight</c>).
/// </summary>
public static class AdapterFolder
{
    /// <summary>The weights file name PEFT uses.</summary>
    public const string WeightsFileName = "adapter_model.safetensors";

    /// <summary>PEFT's prefix: PeftModel.base_model (LoraModel).model (the transformers model).</summary>
    public const string KeyPrefix = "base_model.model.";

    /// <summary>
    /// Writes every attached adapter. All adapters must share one kind, rank, alpha and expert count (one
    /// config file describes them all). The weights file is written first, then the config, each atomically.
    /// </summary>
    /// <param name="directory">Created if missing.</param>
    /// <param name="model">The model with adapters attached.</param>
    /// <param name="baseModelNameOrPath">Recorded as <c>base_model_name_or_path</c>; defaults to the model's <see cref="LlamaModel.SourcePath"/>.</param>
    /// <returns>The config written.</returns>
    /// <exception cref="InvalidOperationException">No adapter is attached, or the adapters differ in kind or size.</exception>
    public static AdapterConfigFile Save(string directory, LlamaModel model, string? baseModelNameOrPath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(model);
        var adapted = model.Linears.Where(kv => kv.Value.Adapter is not null).Select(kv => (Path: kv.Key, Adapter: kv.Value.Adapter!)).ToList();
        if (adapted.Count == 0)
        {
            throw new InvalidOperationException("The model has no adapter to save.");
        }

        AdapterOptions first = adapted[0].Adapter.Options;
        foreach ((string path, ILinearAdapter adapter) in adapted)
        {
            AdapterOptions o = adapter.Options;
            if (o.Kind != first.Kind || o.Rank != first.Rank || o.Alpha != first.Alpha || (HasExperts(o.Kind) && o.Experts != first.Experts))
            {
                throw new InvalidOperationException(
                    $"Adapters differ: '{adapted[0].Path}' is {Describe(first)} but '{path}' is {Describe(o)}; one adapter_config.json describes them all.");
            }
        }

        var config = new AdapterConfigFile
        {
            Kind = first.Kind,
            Rank = first.Rank,
            Alpha = first.Alpha,
            Experts = HasExperts(first.Kind) ? first.Experts : 1,
            TargetModules = TargetNames(model, [.. adapted.Select(a => a.Path)]),
            BaseModelNameOrPath = baseModelNameOrPath ?? model.SourcePath,
        };

        Directory.CreateDirectory(directory);
        var writer = new SafeTensorsWriter();
        writer.SetMetadata("format", "pt");
        foreach ((string path, ILinearAdapter adapter) in adapted)
        {
            foreach (AdapterTensor t in adapter.Export())
            {
                writer.Add<float>(KeyPrefix + path + "." + t.Suffix, SafeTensorDType.F32, t.Shape, t.Data);
            }
        }

        writer.Save(Path.Combine(directory, WeightsFileName));
        AtomicFile.WriteAllText(Path.Combine(directory, AdapterConfigFile.FileName), config.ToJson());
        return config;
    }

    /// <summary>
    /// Reads an adapter folder and attaches its adapters to <paramref name="model"/>. Checks first, attaches
    /// only when everything fits: the peft_type is known, every target module exists, every expected tensor
    /// is present with the right shape, and there is no unexpected tensor.
    /// </summary>
    /// <param name="directory">The adapter folder.</param>
    /// <param name="model">The model (no adapter may be attached to a targeted module yet).</param>
    /// <returns>The config read.</returns>
    /// <exception cref="AdapterFolderException">Anything does not fit; the message names the field or tensor (and both shapes for a shape mismatch).</exception>
    public static AdapterConfigFile Load(string directory, LlamaModel model)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(model);
        AdapterConfigFile config = AdapterConfigFile.Read(directory);
        List<string> targets;
        try
        {
            targets = [.. model.Linears.Keys.Where(config.Targets)];
        }
        catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
        {
            throw new AdapterFolderException(directory, "target_modules", "a regular expression took more than a second to match a module path");
        }

        if (targets.Count == 0)
        {
            string wanted = config.TargetModulesPattern ?? string.Join(", ", config.TargetModules ?? []);
            throw new AdapterFolderException(directory, "target_modules", $"[{wanted}] match no module of the model (module names: {string.Join(", ", DecoderLayer.ProjectionNames)})");
        }

        string weightsPath = Path.Combine(directory, WeightsFileName);
        if (!File.Exists(weightsPath))
        {
            throw new FileNotFoundException($"'{directory}' has no {WeightsFileName}.", weightsPath);
        }

        using SafeTensorsReader reader = SafeTensorsReader.Open(weightsPath);
        Dictionary<string, Dictionary<string, TensorInfo>> byModule = GroupByModule(directory, reader, model, targets);
        foreach (string path in targets)
        {
            CheckShapes(directory, config, path, model.Linears[path].Base, byModule.GetValueOrDefault(path) ?? []);
        }

        var created = new List<(AdaptedLinear Linear, ILinearAdapter Adapter)>();
        try
        {
            foreach (string path in targets)
            {
                AdaptedLinear linear = model.Linears[path];
                if (linear.Adapter is { } existing)
                {
                    throw new AdapterFolderException(directory, path, $"already has a {existing.Kind} adapter attached");
                }

                ILinearAdapter adapter = AdapterInjector.Create(linear.Base, config.ToOptions());
                created.Add((linear, adapter));
                adapter.Import(ReadModule(directory, reader, path, adapter, byModule.GetValueOrDefault(path) ?? []));
            }
        }
        catch
        {
            foreach ((_, ILinearAdapter adapter) in created)
            {
                adapter.Dispose();
            }

            throw;
        }

        foreach ((AdaptedLinear linear, ILinearAdapter adapter) in created)
        {
            linear.Attach(adapter);
        }

        return config;
    }

    // r and num_experts size the adapters built below: every tensor they imply must be in the file with that shape
    // before any adapter is allocated, so a mistyped r fails here, naming the tensor and r, instead of allocating
    // without bound (the sizes come from AdapterSizes, which a test holds equal to each adapter's own export).
    private static void CheckShapes(string directory, AdapterConfigFile config, string path, Linear linear, Dictionary<string, TensorInfo> found)
    {
        foreach ((string suffix, long[] shape) in AdapterSizes.ExportedShapes(config.Kind, config.Rank, config.Experts, linear.InFeatures, linear.OutFeatures))
        {
            string key = KeyPrefix + path + "." + suffix;
            if (!found.TryGetValue(suffix, out TensorInfo? info))
            {
                throw new AdapterFolderException(directory, key, $"missing (a {config.Kind} adapter needs shape {TensorInfo.FormatShape(shape)})");
            }

            if (!info.Shape.SequenceEqual(shape))
            {
                throw new AdapterFolderException(
                    directory, key, $"has shape {info.FormatShape()} but this model needs {TensorInfo.FormatShape(shape)} (r = {config.Rank}{(HasExperts(config.Kind) ? $", num_experts = {config.Experts}" : string.Empty)}, module {linear.OutFeatures}x{linear.InFeatures})");
            }
        }
    }

    private static Dictionary<string, Dictionary<string, TensorInfo>> GroupByModule(
        string directory, SafeTensorsReader reader, LlamaModel model, List<string> targets)
    {
        var byModule = new Dictionary<string, Dictionary<string, TensorInfo>>(StringComparer.Ordinal);
        var targetSet = new HashSet<string>(targets, StringComparer.Ordinal);
        foreach (TensorInfo info in reader.Tensors)
        {
            if (!info.Name.StartsWith(KeyPrefix, StringComparison.Ordinal))
            {
                throw new AdapterFolderException(directory, info.Name, $"unexpected tensor: adapter keys start with '{KeyPrefix}'");
            }

            string rest = info.Name[KeyPrefix.Length..];
            string? module = model.Linears.Keys
                .Where(p => rest.StartsWith(p + ".", StringComparison.Ordinal))
                .MaxBy(p => p.Length);
            if (module is null)
            {
                throw new AdapterFolderException(directory, info.Name, "unexpected tensor: it names no projection of this model");
            }

            if (!targetSet.Contains(module))
            {
                throw new AdapterFolderException(directory, info.Name, $"unexpected tensor: module '{module}' is not selected by target_modules");
            }

            if (!byModule.TryGetValue(module, out Dictionary<string, TensorInfo>? suffixes))
            {
                byModule[module] = suffixes = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
            }

            suffixes[rest[(module.Length + 1)..]] = info;
        }

        return byModule;
    }

    // The fresh adapter's own export names every tensor it needs and its shape: the file must match it exactly.
    private static Dictionary<string, AdapterTensor> ReadModule(
        string directory, SafeTensorsReader reader, string path, ILinearAdapter adapter, Dictionary<string, TensorInfo> found)
    {
        var tensors = new Dictionary<string, AdapterTensor>(StringComparer.Ordinal);
        foreach (AdapterTensor expected in adapter.Export())
        {
            string key = KeyPrefix + path + "." + expected.Suffix;
            if (!found.Remove(expected.Suffix, out TensorInfo? info))
            {
                throw new AdapterFolderException(directory, key, $"missing (a {adapter.Kind} adapter needs shape {TensorInfo.FormatShape(expected.Shape)})");
            }

            if (!info.Shape.SequenceEqual(expected.Shape))
            {
                throw new AdapterFolderException(
                    directory, key, $"has shape {info.FormatShape()} but this model needs {TensorInfo.FormatShape(expected.Shape)} (r = {adapter.Options.Rank}, module {adapter.OutFeatures}x{adapter.InFeatures})");
            }

            tensors[expected.Suffix] = new AdapterTensor(expected.Suffix, expected.Shape, ReadF32(directory, reader, info));
        }

        if (found.Count > 0)
        {
            string key = KeyPrefix + path + "." + found.Keys.Order(StringComparer.Ordinal).First();
            throw new AdapterFolderException(directory, key, $"unexpected tensor for a {adapter.Kind} adapter");
        }

        return tensors;
    }

    private static float[] ReadF32(string directory, SafeTensorsReader reader, TensorInfo info)
    {
        try
        {
            reader.EnsureFinite(info);
        }
        catch (NonFiniteTensorException e)
        {
            throw new AdapterFolderException(directory, info.Name, $"holds {e.Value} at element {e.Index}; the adapter is corrupt or was saved from a diverged run");
        }

        switch (info.DType)
        {
            case SafeTensorDType.F32:
                return reader.GetSpan<float>(info.Name).ToArray();
            case SafeTensorDType.BF16:
                return [.. reader.GetSpan<BFloat16>(info.Name).ToArray().Select(v => (float)v)];
            case SafeTensorDType.F16:
                return [.. reader.GetSpan<Half>(info.Name).ToArray().Select(v => (float)v)];
            default:
                throw new AdapterFolderException(directory, info.Name, $"has dtype {info.DType.ToSafeTensorsName()}; adapter tensors must be F32, BF16 or F16");
        }
    }

    // Short names (up_proj) when they select exactly the adapted modules, as a user would write them; full paths otherwise.
    private static string[] TargetNames(LlamaModel model, List<string> adapted)
    {
        string[] names = [.. adapted.Select(p => p[(p.LastIndexOf('.') + 1)..]).Distinct()];
        bool exact = model.Linears.Keys.Where(p => names.Any(n => AdapterInjector.Matches(p, n))).SequenceEqual(adapted);
        return exact ? names : [.. adapted];
    }

    private static bool HasExperts(AdapterKind kind) => kind is AdapterKind.MoR or AdapterKind.MoELoRA;

    private static string Describe(AdapterOptions o) =>
        $"{o.Kind} r={o.Rank} alpha={o.Alpha}" + (HasExperts(o.Kind) ? $" experts={o.Experts}" : string.Empty);
}
