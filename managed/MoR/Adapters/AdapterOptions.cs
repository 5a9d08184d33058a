namespace MoR.Adapters;

/// <summary>Hyper-parameters of one adapter layer.</summary>
/// <param name="Kind">The method.</param>
/// <param name="Rank">r, the rank of A and B (per expert for MoE-LoRA).</param>
/// <param name="Alpha">α; the adapter output is scaled by s = α / r, as in PEFT.</param>
/// <param name="Experts">N, the number of experts (MoR, MoE-LoRA); ignored by LoRA and DoRA.</param>
/// <param name="RouterInit">How the router W_g starts (MoR, MoE-LoRA): <see cref="RouterInit.Normal"/> (N(0, 0.02²)) or <see cref="RouterInit.Zeros"/> (uniform gates at step 0).</param>
/// <param name="Seed">Seeds A's Kaiming-uniform and the router's normal initialisation.</param>
/// <param name="Dropout">
/// PEFT's <c>lora_dropout</c>: the probability of zeroing an element of the adapter path's input (the frozen
/// base always sees the undropped x), inverted scaling 1/(1−p). Applied only while
/// <see cref="ILinearAdapter.DropoutSeed"/> is set, i.e. during training passes.
/// </param>
public sealed record AdapterOptions(
    AdapterKind Kind,
    int Rank = 8,
    float Alpha = 16f,
    int Experts = 8,
    RouterInit RouterInit = RouterInit.Normal,
    ulong Seed = 0,
    float Dropout = 0f)
{
    /// <summary>s = α / r.</summary>
    public float Scale => Alpha / Rank;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad field.</summary>
    public void Validate()
    {
        if (Rank < 1)
        {
            throw new ArgumentException($"Adapter rank must be >= 1; got {Rank}.", nameof(Rank));
        }

        if ((Kind is AdapterKind.MoR or AdapterKind.MoELoRA) && Experts < 1)
        {
            throw new ArgumentException($"{Kind} needs at least one expert; got {Experts}.", nameof(Experts));
        }

        if (!(Dropout is >= 0f and < 1f))
        {
            throw new ArgumentException($"Adapter dropout must be in [0, 1); got {Dropout}.", nameof(Dropout));
        }

        if (!float.IsFinite(Alpha))
        {
            throw new ArgumentException($"Adapter alpha must be finite; got {Alpha}.", nameof(Alpha));
        }
    }
}

/// <summary>Router initialisation (MOR.md §5).</summary>
public enum RouterInit
{
    /// <summary>N(0, 0.02²).</summary>
    Normal,

    /// <summary>Zeros: every token starts with uniform gates 1/N.</summary>
    Zeros,
}
