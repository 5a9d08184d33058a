namespace MoR.Bench;

/// <summary>The adapted-layer formulations timed with TorchSharp + autograd.</summary>
internal enum TorchLayerMethod
{
    /// <summary>Frozen base alone.</summary>
    Base,

    /// <summary>Base + LoRA: y = x·Wᵀ + s·(x·Aᵀ)·Bᵀ.</summary>
    LoRA,

    /// <summary>Base + MoE-LoRA, a loop over the experts.</summary>
    MoELoRA,

    /// <summary>Base + MoR as a user writes it from the paper: one term per expert.</summary>
    MoRPerExpert,

    /// <summary>Base + MoR in the rank-expanded form of MOR.md §2 (P·Qᵀ, one GEMM with K = N·r).</summary>
    MoRRankExpanded,
}
