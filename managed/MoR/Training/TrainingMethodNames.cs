using MoR.Adapters;

namespace MoR.Training;

/// <summary>The command-line spellings of <see cref="TrainingMethod"/>: lora, dora, moe-lora, mor, full.</summary>
public static class TrainingMethodNames
{
    /// <summary>Every spelling, in enum order.</summary>
    public static IReadOnlyList<string> All { get; } = ["lora", "dora", "moe-lora", "mor", "full"];

    /// <summary>The spelling of <paramref name="method"/>.</summary>
    public static string ToName(this TrainingMethod method) => All[(int)method];

    /// <summary>Parses a spelling (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Not a method; the message lists them.</exception>
    public static TrainingMethod Parse(string name)
    {
        int i = All.ToList().FindIndex(n => string.Equals(n, name?.Trim(), StringComparison.OrdinalIgnoreCase));
        return i >= 0 ? (TrainingMethod)i : throw new ArgumentException($"Unknown method '{name}'; expected one of {string.Join(", ", All)}.", nameof(name));
    }

    /// <summary>The adapter kind a method attaches, or null for full fine-tuning.</summary>
    public static AdapterKind? AdapterKindOf(this TrainingMethod method) => method switch
    {
        TrainingMethod.LoRA => AdapterKind.LoRA,
        TrainingMethod.DoRA => AdapterKind.DoRA,
        TrainingMethod.MoELoRA => AdapterKind.MoELoRA,
        TrainingMethod.MoR => AdapterKind.MoR,
        _ => null,
    };
}
