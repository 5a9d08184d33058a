namespace MoR.Adapters;

/// <summary>The adapter methods this library trains (MOR.md §1, §4).</summary>
public enum AdapterKind
{
    /// <summary>Low-rank adaptation: y = Wx + s·B(Ax).</summary>
    LoRA,

    /// <summary>Weight-decomposed LoRA (PEFT semantics, norm detached).</summary>
    DoRA,

    /// <summary>Dense mixture of N LoRA experts with a softmax router.</summary>
    MoELoRA,

    /// <summary>Mixture of Ranks: one shared A, B scaled per expert by ω_A, ω_B, softmax router.</summary>
    MoR,
}
