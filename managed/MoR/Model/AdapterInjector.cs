using System.Text.RegularExpressions;
using MoR.Adapters;
using MoR.Modules;

namespace MoR.Model;

/// <summary>
/// Finds the projections an <see cref="AdapterSpec"/> targets by their HF module path and plugs a fresh
/// adapter into each (PEFT's injector: the base layers are never modified).
/// </summary>
public static class AdapterInjector
{
    /// <summary>
    /// Attaches one new adapter to every module matching <see cref="AdapterSpec.TargetModules"/>.
    /// Adapter k (in module order: layer by layer, q, k, v, o, gate, up, down) is seeded with
    /// <c>Seed + layer · 7 + projection</c>, so each starts differently, including two same-shaped
    /// projections of one layer (gate and up), whose A would otherwise be identical.
    /// </summary>
    /// <param name="model">The model (its base should be frozen unless adapters are trained on top of full fine-tuning).</param>
    /// <param name="spec">Method, sizes and targets.</param>
    /// <returns>The module paths adapted, in order.</returns>
    /// <exception cref="ArgumentException">No module matches (the message lists the names there are), a module already has an adapter, or the spec is invalid.</exception>
    public static IReadOnlyList<string> Attach(LlamaModel model, AdapterSpec spec)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(spec);
        spec.ToOptions(spec.Seed).Validate();
        IReadOnlyList<string> targets = Match(model, spec.TargetModules);
        foreach (string path in targets)
        {
            if (model.Linears[path].Adapter is { } existing)
            {
                throw new ArgumentException($"Module '{path}' already has a {existing.Kind} adapter; detach it first.", nameof(spec));
            }
        }

        var attached = new List<AdaptedLinear>();
        try
        {
            foreach (string path in targets)
            {
                AdaptedLinear linear = model.Linears[path];
                linear.Attach(Create(linear.Base, spec.ToOptions(SeedFor(spec.Seed, path))));
                attached.Add(linear);
            }
        }
        catch
        {
            foreach (AdaptedLinear linear in attached)
            {
                linear.Attach(null)?.Dispose();
            }

            throw;
        }

        return targets;
    }

    /// <summary>Removes and disposes every adapter.</summary>
    /// <param name="model">The model.</param>
    /// <returns>How many were removed.</returns>
    public static int DetachAll(LlamaModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        int count = 0;
        foreach (AdaptedLinear linear in model.Linears.Values)
        {
            if (linear.Attach(null) is { } adapter)
            {
                adapter.Dispose();
                count++;
            }
        }

        return count;
    }

    /// <summary>The module paths of <paramref name="model"/> that <paramref name="targetModules"/> select.</summary>
    /// <param name="model">The model.</param>
    /// <param name="targetModules">Names, paths or regular expressions (see <see cref="AdapterSpec.TargetModules"/>).</param>
    /// <returns>Matching paths in model order.</returns>
    /// <exception cref="ArgumentException">Nothing matches; the message lists the module names available.</exception>
    public static IReadOnlyList<string> Match(LlamaModel model, IReadOnlyCollection<string> targetModules)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(targetModules);
        if (targetModules.Count == 0)
        {
            throw new ArgumentException("target_modules is empty.", nameof(targetModules));
        }

        var matched = model.Linears.Keys.Where(path => targetModules.Any(t => Matches(path, t))).ToList();
        if (matched.Count == 0)
        {
            string available = string.Join(", ", DecoderLayer.ProjectionNames.Select(n => n[(n.LastIndexOf('.') + 1)..]));
            throw new ArgumentException(
                $"target_modules [{string.Join(", ", targetModules)}] match no module of the model. Available: {available} " +
                "(or full paths such as model.layers.0.mlp.up_proj).",
                nameof(targetModules));
        }

        return matched;
    }

    /// <summary>Whether one target entry selects <paramref name="path"/> (PEFT's rule for list entries, plus regular expressions).</summary>
    /// <param name="path">A module path.</param>
    /// <param name="target">A target entry.</param>
    /// <returns>Whether it matches.</returns>
    public static bool Matches(string path, string target)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(target);
        if (path == target || path.EndsWith("." + target, StringComparison.Ordinal))
        {
            return true;
        }

        if (!target.Contains('.', StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            return Regex.IsMatch(path, $"^(?:{target})$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException)
        {
            return false; // not a valid regular expression: it was meant as a plain path
        }
    }

    /// <summary>A fresh adapter of <paramref name="options"/>'s kind for <paramref name="baseLayer"/>.</summary>
    /// <param name="baseLayer">The frozen layer (DoRA reads its weight for the initial magnitude).</param>
    /// <param name="options">Method and sizes.</param>
    /// <returns>The adapter, not yet attached.</returns>
    public static ILinearAdapter Create(Linear baseLayer, AdapterOptions options)
    {
        ArgumentNullException.ThrowIfNull(baseLayer);
        ArgumentNullException.ThrowIfNull(options);
        Device device = baseLayer.Weight.Device;
        return options.Kind switch
        {
            AdapterKind.LoRA => new LoRAAdapter(device, baseLayer.InFeatures, baseLayer.OutFeatures, options),
            AdapterKind.DoRA => new DoRAAdapter(baseLayer, options),
            AdapterKind.MoELoRA => new MoELoRAAdapter(device, baseLayer.InFeatures, baseLayer.OutFeatures, options),
            AdapterKind.MoR => new MoRAdapter(device, baseLayer.InFeatures, baseLayer.OutFeatures, options),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Kind, "Unknown adapter kind."),
        };
    }

    /// <summary>The seed of the adapter on <paramref name="path"/>: base + layer · 7 + projection index.</summary>
    /// <param name="seed">The spec's seed.</param>
    /// <param name="path">A module path <c>model.layers.{i}.{self_attn|mlp}.{name}</c>.</param>
    /// <returns>The adapter's seed.</returns>
    public static ulong SeedFor(ulong seed, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string[] parts = path.Split('.');
        int layer = parts.Length > 2 && int.TryParse(parts[2], System.Globalization.CultureInfo.InvariantCulture, out int l) ? l : 0;
        int projection = Array.FindIndex(DecoderLayer.ProjectionNames, n => path.EndsWith("." + n, StringComparison.Ordinal));
        return seed + (ulong)(((long)layer * DecoderLayer.ProjectionNames.Length) + Math.Max(projection, 0));
    }
}
