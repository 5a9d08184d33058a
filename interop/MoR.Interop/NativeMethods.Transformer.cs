using System.Runtime.InteropServices;

namespace MoR.Interop;

internal static unsafe partial class NativeMethods
{
    // ---- transformer ops (llm.c style); every *_backward accumulates into its gradient outputs ----
    // Optional outputs (dw of a frozen norm) take BufferHandle.Null.

    [LibraryImport(LibraryName)]
    public static partial int mor_rmsnorm_forward(
        ContextHandle context, StreamHandle stream, long t, long c, float eps,
        BufferHandle x, BufferHandle w, BufferHandle y, BufferHandle rstd);

    [LibraryImport(LibraryName)]
    public static partial int mor_rmsnorm_backward(
        ContextHandle context, StreamHandle stream, long t, long c,
        BufferHandle x, BufferHandle w, BufferHandle rstd, BufferHandle dy, BufferHandle dx, BufferHandle dw);

    /// <summary>In place; <paramref name="inverse"/> = 1 rotates backwards (the backward pass).</summary>
    [LibraryImport(LibraryName)]
    public static partial int mor_rope(
        ContextHandle context, StreamHandle stream, long t, long h, long d,
        BufferHandle x, long xOffset, long ld, BufferHandle positions, BufferHandle invFreq, int inverse);

    [LibraryImport(LibraryName)]
    public static partial int mor_attention_forward(
        ContextHandle context, StreamHandle stream, MorAttentionDims* dims,
        BufferHandle q, BufferHandle k, BufferHandle v, BufferHandle output, BufferHandle lse);

    [LibraryImport(LibraryName)]
    public static partial int mor_attention_backward(
        ContextHandle context, StreamHandle stream, MorAttentionDims* dims,
        BufferHandle q, BufferHandle k, BufferHandle v, BufferHandle output, BufferHandle lse,
        BufferHandle dOutput, BufferHandle dq, BufferHandle dk, BufferHandle dv);

    [LibraryImport(LibraryName)]
    public static partial int mor_swiglu_forward(
        ContextHandle context, StreamHandle stream, long n, BufferHandle gate, BufferHandle up, BufferHandle output);

    [LibraryImport(LibraryName)]
    public static partial int mor_swiglu_backward(
        ContextHandle context, StreamHandle stream, long n,
        BufferHandle gate, BufferHandle up, BufferHandle dOutput, BufferHandle dGate, BufferHandle dUp);

    [LibraryImport(LibraryName)]
    public static partial int mor_embedding_forward(
        ContextHandle context, StreamHandle stream, long t, long c, long v,
        BufferHandle ids, BufferHandle table, BufferHandle output);

    [LibraryImport(LibraryName)]
    public static partial int mor_embedding_backward(
        ContextHandle context, StreamHandle stream, long t, long c, long v,
        BufferHandle ids, BufferHandle dOutput, BufferHandle dTable);

    /// <summary>With <paramref name="gradScale"/> ≠ 0, overwrites <paramref name="logits"/> with the gradient.</summary>
    [LibraryImport(LibraryName)]
    public static partial int mor_cross_entropy(
        ContextHandle context, StreamHandle stream, long t, long v,
        BufferHandle logits, BufferHandle targets, int ignoreIndex, BufferHandle losses, float gradScale);

    [LibraryImport(LibraryName)]
    public static partial int mor_adamw_step(
        ContextHandle context, StreamHandle stream, long n,
        BufferHandle parameters, BufferHandle grads, BufferHandle m, BufferHandle v, MorAdamWParams* hyperParameters);

    /// <summary>Synchronous: the sum is on the host when the call returns.</summary>
    [LibraryImport(LibraryName)]
    public static partial int mor_sum_squares(
        ContextHandle context, StreamHandle stream, long n, BufferHandle x, long xOffset, double* sum);

    [LibraryImport(LibraryName)]
    public static partial int mor_axpy(
        ContextHandle context, StreamHandle stream, long n, float alpha,
        BufferHandle x, long xOffset, BufferHandle y, long yOffset);

    [LibraryImport(LibraryName)]
    public static partial int mor_scale(
        ContextHandle context, StreamHandle stream, long n, float alpha, BufferHandle x, long xOffset);

    /// <summary>Counter-based inverted dropout (mor.h): out = x·keep/(1−p); x may be out.</summary>
    [LibraryImport(LibraryName)]
    public static partial int mor_dropout(
        ContextHandle context, StreamHandle stream, long n, float p, ulong seed, ulong offset,
        BufferHandle x, BufferHandle output);
}
