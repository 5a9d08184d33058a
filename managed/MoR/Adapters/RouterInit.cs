namespace MoR.Adapters;

/// <summary>How a router W_g starts (docs/METHODS.md, MoR.5).</summary>
public enum RouterInit
{
    /// <summary>N(0, 0.02²).</summary>
    Normal,

    /// <summary>Zeros: every token starts with uniform gates 1/N.</summary>
    Zeros,
}
