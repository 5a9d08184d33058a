namespace MoR.Model;

/// <summary>
/// What one decoder layer's forward saves for its backward, for T = batch × seq tokens (llm.c's named
/// activation tensors). The layer input itself lives in the residual stream of <see cref="ModelActivations"/>.
/// </summary>
internal sealed class LayerActivations : IDisposable
{
    public LayerActivations(Device device, LlamaDims dims, long batch, long seq)
    {
        long t = batch * seq;
        Xn1 = Tensor.Empty(device, DType.F32, t, dims.Hidden);
        Rstd1 = Tensor.Empty(device, DType.F32, t);
        Q = Tensor.Empty(device, DType.F32, t, dims.QWidth);
        K = Tensor.Empty(device, DType.F32, t, dims.KvWidth);
        V = Tensor.Empty(device, DType.F32, t, dims.KvWidth);
        Attn = Tensor.Empty(device, DType.F32, t, dims.QWidth);
        Lse = Tensor.Empty(device, DType.F32, batch * dims.QHeads * seq);
        XMid = Tensor.Empty(device, DType.F32, t, dims.Hidden);
        Xn2 = Tensor.Empty(device, DType.F32, t, dims.Hidden);
        Rstd2 = Tensor.Empty(device, DType.F32, t);
        Gate = Tensor.Empty(device, DType.F32, t, dims.Intermediate);
        Up = Tensor.Empty(device, DType.F32, t, dims.Intermediate);
        Act = Tensor.Empty(device, DType.F32, t, dims.Intermediate);
    }

    /// <summary>input_layernorm(x): the input of q/k/v_proj.</summary>
    public Tensor Xn1 { get; }

    public Tensor Rstd1 { get; }

    /// <summary>Queries after RoPE.</summary>
    public Tensor Q { get; }

    /// <summary>Keys after RoPE.</summary>
    public Tensor K { get; }

    public Tensor V { get; }

    /// <summary>Attention output: the input of o_proj.</summary>
    public Tensor Attn { get; }

    /// <summary>Attention log-sum-exp per (batch, head, query).</summary>
    public Tensor Lse { get; }

    /// <summary>x + o_proj(attn): the residual stream between attention and MLP.</summary>
    public Tensor XMid { get; }

    /// <summary>post_attention_layernorm(XMid): the input of gate/up_proj.</summary>
    public Tensor Xn2 { get; }

    public Tensor Rstd2 { get; }

    public Tensor Gate { get; }

    public Tensor Up { get; }

    /// <summary>silu(gate) ⊙ up: the input of down_proj.</summary>
    public Tensor Act { get; }

    public void Dispose()
    {
        foreach (Tensor t in new[] { Xn1, Rstd1, Q, K, V, Attn, Lse, XMid, Xn2, Rstd2, Gate, Up, Act })
        {
            t.Dispose();
        }
    }
}
