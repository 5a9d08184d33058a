using System.Text.Json.Nodes;
using MoR.IO;
using MoR.Modules;

namespace MoR.Adapters;

/// <summary>
/// Adapter folders in PEFT's layout (docs/METHODS.md gives each method's tensors): <c>adapter_config.json</c> and <c>adapter_model.safetensors</c>
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
    /// Writes every attached adapter. All adapters must share one method and its hyper-parameters (one config file
    /// describes them all). The weights file is written first, then the config, each atomically.
    /// </summary>
    /// <param name="directory">Created if missing.</param>
    /// <param name="model">The model with adapters attached.</param>
    /// <param name="baseModelNameOrPath">Recorded as <c>base_model_name_or_path</c>; defaults to the model's <see cref="IAdaptableModel.SourcePath"/>.</param>
    /// <returns>The config written.</returns>
    /// <exception cref="InvalidOperationException">No adapter is attached, or the adapters differ in method or size.</exception>
    public static AdapterConfigFile Save(string directory, IAdaptableModel model, string? baseModelNameOrPath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(model);
        IReadOnlyList<(string Path, ILinearAdapter Adapter)> adapted = AdapterInjector.Attached(model);
        if (adapted.Count == 0)
        {
            throw new InvalidOperationException("The model has no adapter to save.");
        }

        AdapterConfig first = adapted[0].Adapter.Config;
        foreach ((string path, ILinearAdapter adapter) in adapted)
        {
            if (adapter.Config.Method != first.Method || adapter.Config.FormatSizes() != first.FormatSizes())
            {
                throw new InvalidOperationException(
                    $"Adapters differ: '{adapted[0].Path}' is {first} but '{path}' is {adapter.Config}; one adapter_config.json describes them all.");
            }
        }

        var config = new AdapterConfigFile
        {
            Config = adapted[0].Adapter.Config with { TargetModules = TargetNames(model, [.. adapted.Select(a => a.Path)]), TargetModulesPattern = null },
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
    public static AdapterConfigFile Load(string directory, IAdaptableModel model)
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
            string wanted = config.Config.TargetModulesPattern ?? string.Join(", ", config.Config.TargetModules);
            throw new AdapterFolderException(directory, "target_modules", $"[{wanted}] match no module of the model (module names: {string.Join(", ", model.ProjectionNames)})");
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
                    throw new AdapterFolderException(directory, path, $"already has a {existing.Config.Method.DisplayName} adapter attached");
                }

                ILinearAdapter adapter = config.Config.Method.Create(config.Config, linear.Base, seed: 0);
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

    // The config's sizes (r, num_experts, …) size the adapters built below: every tensor they imply must be in the file
    // with that shape before any adapter is allocated, so a mistyped r fails here, naming the tensor and r, instead of
    // allocating without bound (the method's ExportedShapes, which a test holds equal to each adapter's own export).
    private static void CheckShapes(string directory, AdapterConfigFile config, string path, Linear linear, Dictionary<string, TensorInfo> found)
    {
        AdapterConfig c = config.Config;
        IReadOnlyList<(string Suffix, long[] Shape)> shapes;
        try
        {
            shapes = c.Method.ExportedShapes(c, linear.InFeatures, linear.OutFeatures);
        }
        catch (ArgumentException e)
        {
            // The method cannot take this layer at all (e.g. more MELoRA blocks than the layer has features).
            throw new AdapterFolderException(directory, KeyPrefix + path, e.Message);
        }

        foreach ((string suffix, long[] shape) in shapes)
        {
            string key = KeyPrefix + path + "." + suffix;
            if (!found.TryGetValue(suffix, out TensorInfo? info))
            {
                throw new AdapterFolderException(directory, key, $"missing (a {c.Method.DisplayName} adapter needs shape {TensorInfo.FormatShape(shape)})");
            }

            if (!info.Shape.SequenceEqual(shape))
            {
                throw new AdapterFolderException(
                    directory, key, $"has shape {info.FormatShape()} but this model needs {TensorInfo.FormatShape(shape)} ({FileSizes(config)}, module {linear.OutFeatures}x{linear.InFeatures})");
            }
        }
    }

    // The sizes as adapter_config.json names them (r first, then the method's integer fields such as num_experts or
    // MELoRA's per-block r list), since that file is what the user edits when a shape does not match.
    private static string FileSizes(AdapterConfigFile config) =>
        string.Join(", ", config.Fields()
            .Where(f => f.Key != "lora_alpha" && (IsInt(f.Value) || (f.Value is JsonArray list && list.All(IsInt))))
            .OrderBy(f => f.Key != "r")
            .Select(f => $"{f.Key} = {f.Value!.ToJsonString()}"));

    private static bool IsInt(JsonNode? node) => node is JsonValue v && v.TryGetValue(out int _);

    private static Dictionary<string, Dictionary<string, TensorInfo>> GroupByModule(
        string directory, SafeTensorsReader reader, IAdaptableModel model, List<string> targets)
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
                throw new AdapterFolderException(directory, key, $"missing (a {adapter.Config.Method.DisplayName} adapter needs shape {TensorInfo.FormatShape(expected.Shape)})");
            }

            if (!info.Shape.SequenceEqual(expected.Shape))
            {
                throw new AdapterFolderException(
                    directory, key, $"has shape {info.FormatShape()} but this model needs {TensorInfo.FormatShape(expected.Shape)} ({adapter.Config.FormatSizes()}, module {adapter.OutFeatures}x{adapter.InFeatures})");
            }

            tensors[expected.Suffix] = new AdapterTensor(expected.Suffix, expected.Shape, ReadF32(directory, reader, info));
        }

        if (found.Count > 0)
        {
            string key = KeyPrefix + path + "." + found.Keys.Order(StringComparer.Ordinal).First();
            throw new AdapterFolderException(directory, key, $"unexpected tensor for a {adapter.Config.Method.DisplayName} adapter");
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
    private static string[] TargetNames(IAdaptableModel model, List<string> adapted)
    {
        string[] names = [.. adapted.Select(p => p[(p.LastIndexOf('.') + 1)..]).Distinct()];
        bool exact = model.Linears.Keys.Where(p => names.Any(n => AdapterInjector.Matches(p, n))).SequenceEqual(adapted);
        return exact ? names : [.. adapted];
    }
}
