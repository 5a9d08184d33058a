using MoR.Adapters;

namespace MoR.Model;

/// <summary>Which adapter to attach where (PEFT's <c>LoraConfig</c> idea): the method, its sizes, and the target modules.</summary>
public sealed record AdapterSpec
{
    /// <summary>The paper's placement: the FFN projections.</summary>
    public static readonly IReadOnlyList<string> DefaultTargetModules = ["gate_proj", "up_proj", "down_proj"];

    /// <summary>The method.</summary>
    public AdapterKind Kind { get; init; } = AdapterKind.MoR;

    /// <summary>r (per expert for MoE-LoRA).</summary>
    public int Rank { get; init; } = 8;

    /// <summary>α; the adapter output is scaled by α / r.</summary>
    public float Alpha { get; init; } = 16f;

    /// <summary>N, for MoR and MoE-LoRA.</summary>
    public int Experts { get; init; } = 8;

    /// <summary>
    /// Modules to adapt, as PEFT matches a list: a name without a dot matches the last component of the
    /// module path (<c>up_proj</c>); a name with a dot matches a full path or a path suffix
    /// (<c>model.layers.0.mlp.up_proj</c>, <c>mlp.up_proj</c>), else it is tried as a regular expression
    /// over the whole path (<c>model\.layers\.[0-3]\.mlp\..*</c>).
    /// </summary>
    public string[] TargetModules { get; init; } = [.. DefaultTargetModules];

    /// <summary>How MoR / MoE-LoRA routers start.</summary>
    public RouterInit RouterInit { get; init; } = RouterInit.Normal;

    /// <summary>PEFT's lora_dropout on each adapter's input, applied in training passes only (see <see cref="AdapterOptions.Dropout"/>).</summary>
    public float Dropout { get; init; }

    /// <summary>Base seed; each adapter gets a distinct seed derived from it and its module (see <see cref="AdapterInjector"/>).</summary>
    public ulong Seed { get; init; }

    /// <summary>The per-layer options for the adapter at a given seed.</summary>
    /// <param name="seed">The adapter's own seed.</param>
    /// <returns>Options for the adapter constructors.</returns>
    public AdapterOptions ToOptions(ulong seed) => new(Kind, Rank, Alpha, Experts, RouterInit, seed, Dropout);
}
