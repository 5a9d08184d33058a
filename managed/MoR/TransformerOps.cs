using MoR.Interop;

namespace MoR;

/// <summary>
/// Checked wrappers over the transformer kernels of the C ABI (norm, RoPE, attention, SwiGLU, embedding,
/// cross-entropy), for the model's explicit forward and backward. The generic ops (GEMM with offsets, copy,
/// fill, axpy) are <see cref="Ops"/>.
/// </summary>
internal static unsafe class TransformerOps
{
    /// <summary>The target id that takes no loss (Hugging Face's -100).</summary>
    public const int IgnoreIndex = -100;

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
                IgnoreIndex, losses.Handle, gradScale),
            "mor_cross_entropy");
}
