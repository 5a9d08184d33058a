namespace MoR.Benchmarks;

/// <summary>
/// Groups native entry points into the op classes a training step is discussed in: GEMMs (base projections
/// and LM head), attention, the adapters' fused kernels (their internal GEMMs included), the small
/// element-wise ops, the loss, the optimizer (clipping's norm included) and memory traffic.
/// </summary>
public static class OpCategory
{
    /// <summary>The categories in report order.</summary>
    public static IReadOnlyList<string> Ordered { get; } =
    [
        "gemm", "attention", "adapter kernels", "norm/rope/swiglu/embedding", "cross-entropy", "optimizer", "memory/copies", "other",
    ];

    /// <summary>The category of native function <paramref name="function"/> (a <c>mor_*</c> name).</summary>
    public static string Of(string function) => function switch
    {
        "mor_gemm" or "mor_gemm_batched" => "gemm",
        _ when function.StartsWith("mor_attention", StringComparison.Ordinal) => "attention",
        "mor_forward" or "mor_backward" or "mor_build_q" or "mor_row_norm2" or "mor_dropout" => "adapter kernels",
        _ when function.StartsWith("mor_lora", StringComparison.Ordinal)
            || function.StartsWith("mor_dora", StringComparison.Ordinal)
            || function.StartsWith("mor_moe", StringComparison.Ordinal) => "adapter kernels",
        _ when function.StartsWith("mor_rmsnorm", StringComparison.Ordinal)
            || function.StartsWith("mor_rope", StringComparison.Ordinal)
            || function.StartsWith("mor_swiglu", StringComparison.Ordinal)
            || function.StartsWith("mor_embedding", StringComparison.Ordinal) => "norm/rope/swiglu/embedding",
        _ when function.StartsWith("mor_cross_entropy", StringComparison.Ordinal) => "cross-entropy",
        "mor_adamw_step" or "mor_sum_squares" or "mor_scale" or "mor_axpy" => "optimizer",
        _ when function.StartsWith("mor_buffer", StringComparison.Ordinal) || function.StartsWith("mor_cast", StringComparison.Ordinal) => "memory/copies",
        _ => "other",
    };
}
