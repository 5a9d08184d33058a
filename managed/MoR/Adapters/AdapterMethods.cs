namespace MoR.Adapters;

/// <summary>
/// The registry of adapter methods: the one place that lists them. Everything else — <c>mor finetune</c>'s
/// <c>--method</c> and flags, <c>adapter_config.json</c>, merging, <c>mor selftest</c>, the benchmarks, the
/// experiments and the tests — enumerates it. Adding a method is its folder plus one line here.
/// </summary>
public static class AdapterMethods
{
    /// <summary>Every method, in the order help and tables list them.</summary>
    public static IReadOnlyList<AdapterMethod> All { get; } =
    [
        LoRAMethod.Instance,
        DoRAMethod.Instance,
        MoELoRAMethod.Instance,
        MoRMethod.Instance,
        MELoRAMethod.Instance,
    ];

    /// <summary>The name <c>mor finetune --method</c> takes for full fine-tuning, which is not an adapter method.</summary>
    public const string FullFineTuning = "full";

    /// <summary>Every name <c>--method</c> accepts: the methods, then full fine-tuning.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. All.Select(m => m.Name), FullFineTuning];

    /// <summary>The method called <paramref name="name"/> (case-insensitive), or null.</summary>
    public static AdapterMethod? Find(string name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The method called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No method has that name (the message lists the names).</exception>
    public static AdapterMethod Get(string name) =>
        Find(name) ?? throw new ArgumentException($"Unknown method '{name}'; expected one of: {string.Join(", ", Names)}.", nameof(name));

    /// <summary>The default config of the method called <paramref name="name"/>, or null for <see cref="FullFineTuning"/>.</summary>
    public static AdapterConfig? DefaultConfig(string name) =>
        string.Equals(name, FullFineTuning, StringComparison.OrdinalIgnoreCase) ? null : Get(name).DefaultConfig;

    /// <summary>The method an <c>adapter_config.json</c> describes.</summary>
    /// <exception cref="AdapterFolderException">No registered method recognises it.</exception>
    public static AdapterMethod Recognise(PeftConfigReader file)
    {
        ArgumentNullException.ThrowIfNull(file);
        AdapterMethod[] matches = [.. All.Where(m => m.Recognises(file))];
        return matches.Length switch
        {
            1 => matches[0],
            0 => throw file.Error("peft_type", $"'{file.PeftType}' (with these flags) is not a method this library implements ({string.Join(", ", All.Select(m => m.DisplayName))})"),
            _ => throw new InvalidOperationException($"Methods {string.Join(", ", matches.Select(m => m.Name))} all claim this adapter_config.json."),
        };
    }
}
