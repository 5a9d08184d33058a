namespace MoR.Bench;

/// <summary>What the TorchSharp LLaMA peer trains.</summary>
internal enum PeerMethod
{
    /// <summary>Nothing: the frozen base alone (eval, generate, load).</summary>
    None,

    /// <summary>LoRA on the target projections.</summary>
    LoRA,

    /// <summary>MoR written term by term from the paper (a loop over the experts).</summary>
    MoR,

    /// <summary>MoR in the rank-expanded form of MOR.md §2 (one GEMM with K = N·r).</summary>
    MoRExpanded,

    /// <summary>MoE-LoRA: N LoRA experts mixed by a softmax router, a loop over the experts.</summary>
    MoELoRA,

    /// <summary>Full fine-tuning: every weight F32 and trainable.</summary>
    Full,
}
