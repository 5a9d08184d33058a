namespace MoR.Adapters;

/// <summary>How many values an adapter of each kind holds for one [out, in] projection — what its PEFT export
/// writes (<see cref="ILinearAdapter.Export"/>) — computed without building it, so that sizes read from a file can
/// be checked before anything is allocated from them.</summary>
public static class AdapterSizes
{
    /// <summary>The tensors <see cref="ILinearAdapter.Export"/> writes for one module: PEFT suffix and shape, in export order.</summary>
    /// <param name="kind">The method.</param>
    /// <param name="rank">r (per expert for MoE-LoRA).</param>
    /// <param name="experts">N (MoR, MoE-LoRA; ignored otherwise).</param>
    /// <param name="inFeatures">The projection's input width.</param>
    /// <param name="outFeatures">The projection's output width.</param>
    /// <returns>Suffix and shape of each tensor.</returns>
    public static IReadOnlyList<(string Suffix, long[] Shape)> ExportedShapes(AdapterKind kind, long rank, long experts, long inFeatures, long outFeatures) => kind switch
    {
        AdapterKind.LoRA => [("lora_A.weight", [rank, inFeatures]), ("lora_B.weight", [outFeatures, rank])],
        AdapterKind.DoRA => [("lora_A.weight", [rank, inFeatures]), ("lora_B.weight", [outFeatures, rank]), ("lora_magnitude_vector", [outFeatures])],
        AdapterKind.MoELoRA => [("moe_lora_A", [experts, rank, inFeatures]), ("moe_lora_B", [experts, outFeatures, rank]), ("moe_router.weight", [experts, inFeatures])],
        AdapterKind.MoR =>
        [
            ("lora_A.weight", [rank, inFeatures]), ("lora_B.weight", [outFeatures, rank]), ("mor_omega_A", [experts, rank]),
            ("mor_omega_B", [experts, outFeatures]), ("mor_router.weight", [experts, inFeatures]),
        ],
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown adapter kind."),
    };

    /// <summary>The values <see cref="ILinearAdapter.Export"/> writes for one module.</summary>
    /// <param name="kind">The method.</param>
    /// <param name="rank">r (per expert for MoE-LoRA).</param>
    /// <param name="experts">N (MoR, MoE-LoRA; ignored otherwise).</param>
    /// <param name="inFeatures">The projection's input width.</param>
    /// <param name="outFeatures">The projection's output width.</param>
    /// <returns>The count, as a double so that absurd sizes cannot overflow.</returns>
    public static double ExportedValues(AdapterKind kind, double rank, double experts, double inFeatures, double outFeatures) => kind switch
    {
        AdapterKind.LoRA => (rank * inFeatures) + (outFeatures * rank),
        AdapterKind.DoRA => (rank * inFeatures) + (outFeatures * rank) + outFeatures,
        AdapterKind.MoELoRA => (experts * rank * inFeatures) + (experts * outFeatures * rank) + (experts * inFeatures),
        AdapterKind.MoR => (rank * inFeatures) + (outFeatures * rank) + (experts * rank) + (experts * outFeatures) + (experts * inFeatures),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown adapter kind."),
    };
}
