namespace MoR.Benchmarks;

/// <summary>What a layer benchmark runs on top of the frozen base layer.</summary>
public enum LayerMethod
{
    /// <summary>The frozen base alone: y = x·Wᵀ and dx = dy·W (no weight gradient).</summary>
    Base,

    /// <summary>Base + LoRA of rank r.</summary>
    LoRA,

    /// <summary>Base + dense MoE-LoRA: N experts of rank r each, softmax router.</summary>
    MoELoRA,

    /// <summary>Base + Mixture of Ranks: N experts sharing one rank-r A and B, softmax router.</summary>
    MoR,
}
