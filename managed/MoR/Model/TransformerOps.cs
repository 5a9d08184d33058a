using MoR.Interop;

namespace MoR.Model;

/// <summary>
/// Thin, checked-by-native wrappers over the transformer entry points of the C ABI, for the model's
/// explicit forward and backward. Unlike <see cref="Tensor.MatMul(Tensor, Tensor, Tensor, float, float, bool, bool)"/>
/// these take element offsets, so the LM head can work on row chunks and the KV cache on row ranges
/// of one buffer without views or copies.
/// </summary>
internal static unsafe class TransformerOps
{
    /// <summary>Row-major C[m×n] = α·op(A)·op(B) + β·C with offsets (elements) into each buffer.</summary>
    public static void Gemm(
        bool transA, bool transB, long m, long n, long k, float alpha,
        Tensor a, long aOffset, long lda, Tensor b, long bOffset, long ldb, float beta, Tensor c, long cOffset, long ldc)
    {
        Device d = c.Device;
        NativeCall.Check(
            NativeMethods.mor_gemm(d.Context, StreamHandle.Default,
                transA ? MorTranspose.Transpose : MorTranspose.NoTranspose,
                transB ? MorTranspose.Transpose : MorTranspose.NoTranspose,
                m, n, k, alpha, a.Handle, aOffset, lda, 0, b.Handle, bOffset, ldb, 0, beta, c.Handle, cOffset, ldc, 0, 1,
                d.AllowTf32 ? 1 : 0),
            "mor_gemm");
    }

    public static void Copy(Tensor src, long srcOffset, Tensor dst, long dstOffset, long count) =>
        NativeCall.Check(NativeMethods.mor_buffer_copy(dst.Handle, dstOffset, src.Handle, srcOffset, count, StreamHandle.Default), "mor_buffer_copy");

    public static void Copy(Tensor src, Tensor dst) => Copy(src, 0, dst, 0, src.Numel);

    public static void Zero(Tensor t) =>
        NativeCall.Check(NativeMethods.mor_buffer_fill(t.Handle, 0, t.Numel, 0, StreamHandle.Default), "mor_buffer_fill");

    public static void Upload(Tensor dst, ReadOnlySpan<int> values)
    {
        fixed (int* p = values)
        {
            NativeCall.Check(NativeMethods.mor_buffer_upload(dst.Handle, 0, p, values.Length, StreamHandle.Default), "mor_buffer_upload");
        }
    }

    public static void Download(Tensor src, long offset, Span<float> values)
    {
        fixed (float* p = values)
        {
            NativeCall.Check(NativeMethods.mor_buffer_download(src.Handle, offset, p, values.Length, StreamHandle.Default), "mor_buffer_download");
        }
    }

    /// <summary>y += α·x over all of x.</summary>
    public static void Axpy(float alpha, Tensor x, Tensor y) =>
        NativeCall.Check(NativeMethods.mor_axpy(x.Device.Context, StreamHandle.Default, x.Numel, alpha, x.Handle, 0, y.Handle, 0), "mor_axpy");

    public static void RmsNormForward(long t, long c, float eps, Tensor x, Tensor w, Tensor y, Tensor rstd) =>
        NativeCall.Check(
            NativeMethods.mor_rmsnorm_forward(x.Device.Context, StreamHandle.Default, t, c, eps, x.Handle, w.Handle, y.Handle, rstd.Handle),
            "mor_rmsnorm_forward");

    public static void RmsNormBackward(long t, long c, Tensor x, Tensor w, Tensor rstd, Tensor dy, Tensor dx, Tensor? dw) =>
        NativeCall.Check(
            NativeMethods.mor_rmsnorm_backward(x.Device.Context, StreamHandle.Default, t, c, x.Handle, w.Handle, rstd.Handle, dy.Handle,
                dx.Handle, dw?.Handle ?? BufferHandle.Null),
            "mor_rmsnorm_backward");

    /// <summary>Rotates <paramref name="heads"/> heads of every one of <paramref name="t"/> dense rows in place (inverse: the backward).</summary>
    public static void Rope(long t, long heads, long headDim, Tensor x, Tensor positions, Tensor invFreq, bool inverse) =>
        NativeCall.Check(
            NativeMethods.mor_rope(x.Device.Context, StreamHandle.Default, t, heads, headDim, x.Handle, 0, heads * headDim,
                positions.Handle, invFreq.Handle, inverse ? 1 : 0),
            "mor_rope");

    public static void AttentionForward(in MorAttentionDims dims, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse)
    {
        MorAttentionDims copy = dims;
        NativeCall.Check(
            NativeMethods.mor_attention_forward(q.Device.Context, StreamHandle.Default, &copy, q.Handle, k.Handle, v.Handle, output.Handle, lse.Handle),
            "mor_attention_forward");
    }

    public static void AttentionBackward(
        in MorAttentionDims dims, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, Tensor dOutput, Tensor dq, Tensor dk, Tensor dv)
    {
        MorAttentionDims copy = dims;
        NativeCall.Check(
            NativeMethods.mor_attention_backward(q.Device.Context, StreamHandle.Default, &copy, q.Handle, k.Handle, v.Handle, output.Handle,
                lse.Handle, dOutput.Handle, dq.Handle, dk.Handle, dv.Handle),
            "mor_attention_backward");
    }

    public static void SwiGluForward(Tensor gate, Tensor up, Tensor output) =>
        NativeCall.Check(
            NativeMethods.mor_swiglu_forward(gate.Device.Context, StreamHandle.Default, gate.Numel, gate.Handle, up.Handle, output.Handle),
            "mor_swiglu_forward");

    public static void SwiGluBackward(Tensor gate, Tensor up, Tensor dOutput, Tensor dGate, Tensor dUp) =>
        NativeCall.Check(
            NativeMethods.mor_swiglu_backward(gate.Device.Context, StreamHandle.Default, gate.Numel, gate.Handle, up.Handle, dOutput.Handle,
                dGate.Handle, dUp.Handle),
            "mor_swiglu_backward");

    public static void EmbeddingForward(long t, long c, long v, Tensor ids, Tensor table, Tensor output) =>
        NativeCall.Check(
            NativeMethods.mor_embedding_forward(table.Device.Context, StreamHandle.Default, t, c, v, ids.Handle, table.Handle, output.Handle),
            "mor_embedding_forward");

    public static void EmbeddingBackward(long t, long c, long v, Tensor ids, Tensor dOutput, Tensor dTable) =>
        NativeCall.Check(
            NativeMethods.mor_embedding_backward(dTable.Device.Context, StreamHandle.Default, t, c, v, ids.Handle, dOutput.Handle, dTable.Handle),
            "mor_embedding_backward");

    /// <summary>Per-row losses; with a non-zero <paramref name="gradScale"/> the logits become the scaled logit gradient.</summary>
    public static void CrossEntropy(long t, long v, Tensor logits, Tensor targets, Tensor losses, float gradScale) =>
        NativeCall.Check(
            NativeMethods.mor_cross_entropy(logits.Device.Context, StreamHandle.Default, t, v, logits.Handle, targets.Handle,
                TokenBatch.IgnoreIndex, losses.Handle, gradScale),
            "mor_cross_entropy");
}
