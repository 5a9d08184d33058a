using System.Text.RegularExpressions;

namespace MoR.Adapters;

/// <summary>
/// Finds the projections a config targets by their Hugging Face module path and plugs a fresh adapter of its method
/// into each (PEFT's injector: the base layers are never modified).
/// </summary>
public static class AdapterInjector
{
    /// <summary>
    /// Attaches one new adapter of <paramref name="config"/>'s method to every module its targets select. Adapter k (in
    /// module order: layer by layer, q, k, v, o, gate, up, down) is seeded with <c>seed + layer · 7 + projection</c>, so
    /// each starts differently, including two same-shaped projections of one layer (gate and up), whose A would
    /// otherwise be identical.
    /// </summary>
    /// <param name="model">The model (its base should be frozen unless adapters are trained on top of full fine-tuning).</param>
    /// <param name="config">Method, sizes and targets.</param>
    /// <param name="seed">The base seed.</param>
    /// <returns>The module paths adapted, in order.</returns>
    /// <exception cref="ArgumentException">No module matches (the message lists the names there are), a module already has an adapter, or the config is invalid.</exception>
    public static IReadOnlyList<string> Attach(IAdaptableModel model, AdapterConfig config, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        IReadOnlyList<string> targets = Match(model, config);
        foreach (string path in targets)
        {
            if (model.Linears[path].Adapter is { } existing)
            {
                throw new ArgumentException($"Module '{path}' already has a {existing.Config.Method.DisplayName} adapter; detach it first.", nameof(config));
            }
        }

        var attached = new List<AdaptedLinear>();
        try
        {
            foreach (string path in targets)
            {
                AdaptedLinear linear = model.Linears[path];
                linear.Attach(config.Method.Create(config, linear.Base, SeedFor(model, seed, path)));
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
    public static int DetachAll(IAdaptableModel model)
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

    /// <summary>The adapters attached to <paramref name="model"/>, by module path, in model order.</summary>
    public static IReadOnlyList<(string Path, ILinearAdapter Adapter)> Attached(IAdaptableModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return [.. model.Linears.Where(kv => kv.Value.Adapter is not null).Select(kv => (kv.Key, kv.Value.Adapter!))];
    }

    /// <summary>The module paths of <paramref name="model"/> that <paramref name="config"/>'s targets select.</summary>
    /// <exception cref="ArgumentException">Nothing matches; the message lists the module names available.</exception>
    public static IReadOnlyList<string> Match(IAdaptableModel model, AdapterConfig config)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        var matched = model.Linears.Keys.Where(path => Targets(config, path)).ToList();
        if (matched.Count == 0)
        {
            string wanted = config.TargetModulesPattern ?? string.Join(", ", config.TargetModules);
            string available = string.Join(", ", model.ProjectionNames.Select(n => n[(n.LastIndexOf('.') + 1)..]));
            throw new ArgumentException(
                $"target_modules [{wanted}] match no module of the model. Available: {available} (or full paths such as model.layers.0.mlp.up_proj).",
                nameof(config));
        }

        return matched;
    }

    /// <summary>Whether <paramref name="config"/>'s targets select <paramref name="path"/>: PEFT's rules for a list or a pattern string.</summary>
    public static bool Targets(AdapterConfig config, string path)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.TargetModulesPattern is { } pattern
            ? Regex.IsMatch(path, $"^(?:{pattern})$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1))
            : config.TargetModules.Any(t => Matches(path, t));
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

    /// <summary>The seed of the adapter on <paramref name="path"/>: base + layer · (projections per layer) + projection index.</summary>
    /// <param name="model">The model (its projection names).</param>
    /// <param name="seed">The base seed.</param>
    /// <param name="path">A module path <c>model.layers.{i}.{self_attn|mlp}.{name}</c>.</param>
    /// <returns>The adapter's seed.</returns>
    public static ulong SeedFor(IAdaptableModel model, ulong seed, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(path);
        string[] parts = path.Split('.');
        int layer = parts.Length > 2 && int.TryParse(parts[2], System.Globalization.CultureInfo.InvariantCulture, out int l) ? l : 0;
        IReadOnlyList<string> names = model.ProjectionNames;
        int projection = -1;
        for (int i = 0; i < names.Count; i++)
        {
            if (path.EndsWith("." + names[i], StringComparison.Ordinal))
            {
                projection = i;
                break;
            }
        }

        return seed + (ulong)(((long)layer * names.Count) + Math.Max(projection, 0));
    }
}
