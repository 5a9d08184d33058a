using MoR.Adapters;
using MoR.Modules;

namespace MoR.Model;

/// <summary>
/// One HF <c>LlamaDecoderLayer</c> with explicit forward and backward (llm.c style):
/// x → input_layernorm → q/k/v_proj → RoPE(q, k) → causal GQA attention → o_proj → +x →
/// post_attention_layernorm → gate_proj, up_proj → SwiGLU → down_proj → +.
/// Every projection is an <see cref="AdaptedLinear"/>, so adapters plug in by module path.
/// </summary>
internal sealed class DecoderLayer : IDisposable
{
    private readonly LlamaDims _dims;

    public DecoderLayer(int index, LlamaDims dims, RmsNorm inputNorm, RmsNorm postNorm, AdaptedLinear[] projections)
    {
        Index = index;
        _dims = dims;
        InputNorm = inputNorm;
        PostNorm = postNorm;
        (QProj, KProj, VProj, OProj, GateProj, UpProj, DownProj) =
            (projections[0], projections[1], projections[2], projections[3], projections[4], projections[5], projections[6]);
    }

    /// <summary>The HF module names of the seven projections, in the order the constructor takes them.</summary>
    public static readonly string[] ProjectionNames =
        ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"];

    public int Index { get; }

    public RmsNorm InputNorm { get; }

    public RmsNorm PostNorm { get; }

    public AdaptedLinear QProj { get; }

    public AdaptedLinear KProj { get; }

    public AdaptedLinear VProj { get; }

    public AdaptedLinear OProj { get; }

    public AdaptedLinear GateProj { get; }

    public AdaptedLinear UpProj { get; }

    public AdaptedLinear DownProj { get; }

    public AdaptedLinear[] Projections => [QProj, KProj, VProj, OProj, GateProj, UpProj, DownProj];

    /// <summary>xOut = layer(x). Saves what backward needs in <paramref name="a"/>; <paramref name="proj"/> is scratch.</summary>
    public void Forward(LayerActivations a, Tensor x, Tensor xOut, Tensor proj, in AttentionPlan plan, AdapterPass pass)
    {
        long t = x.Shape[0];
        InputNorm.Forward(t, x, a.Xn1, a.Rstd1);
        QProj.Forward(a.Xn1, a.Q, pass);
        KProj.Forward(a.Xn1, a.K, pass);
        VProj.Forward(a.Xn1, a.V, pass);
        TransformerOps.Rope(t, _dims.QHeads, _dims.HeadDim, a.Q, plan.Positions, plan.InvFreq, inverse: false);
        TransformerOps.Rope(t, _dims.KvHeads, _dims.HeadDim, a.K, plan.Positions, plan.InvFreq, inverse: false);
        Tensor keys = a.K, values = a.V;
        if (plan.Cache is KvCache cache)
        {
            // Decoding: this step's rotated keys and values join the cache, and attention reads the whole prefix from it.
            long offset = (long)plan.Past * _dims.KvWidth, count = t * _dims.KvWidth;
            (keys, values) = (cache.Keys[Index], cache.Values[Index]);
            Ops.Copy(a.K, 0, keys, offset, count);
            Ops.Copy(a.V, 0, values, offset, count);
        }

        TransformerOps.AttentionForward(plan.Dims(_dims), a.Q, keys, values, a.Attn, a.Lse);
        OProj.Forward(a.Attn, proj, pass);
        Ops.Copy(x, a.XMid);
        Ops.Axpy(1f, proj, a.XMid);

        PostNorm.Forward(t, a.XMid, a.Xn2, a.Rstd2);
        GateProj.Forward(a.Xn2, a.Gate, pass);
        UpProj.Forward(a.Xn2, a.Up, pass);
        TransformerOps.SwiGluForward(a.Gate, a.Up, a.Act);
        DownProj.Forward(a.Act, proj, pass);
        Ops.Copy(a.XMid, xOut);
        Ops.Axpy(1f, proj, xOut);
    }

    /// <summary>
    /// On entry <paramref name="dRes"/> holds dL/d(layer output); on return dL/d(layer input). Parameter
    /// gradients (trainable weights, norms, adapters) are accumulated. Needs the activations of this
    /// layer's last forward on <paramref name="x"/>.
    /// </summary>
    public void Backward(LayerActivations a, LayerGradients g, Tensor x, Tensor dRes, in AttentionPlan plan, AdapterPass pass)
    {
        long t = x.Shape[0];

        // MLP: the residual passes dRes through unchanged; the branch adds its part.
        Ops.Zero(g.DAct);
        DownProj.Backward(a.Act, dRes, g.DAct, pass);
        Ops.Zero(g.DGate);
        Ops.Zero(g.DUp);
        TransformerOps.SwiGluBackward(a.Gate, a.Up, g.DAct, g.DGate, g.DUp);
        Ops.Zero(g.DXn);
        GateProj.Backward(a.Xn2, g.DGate, g.DXn, pass);
        UpProj.Backward(a.Xn2, g.DUp, g.DXn, pass);
        PostNorm.Backward(t, a.XMid, a.Rstd2, g.DXn, dRes);

        // Attention.
        Ops.Zero(g.DAttn);
        OProj.Backward(a.Attn, dRes, g.DAttn, pass);
        Ops.Zero(g.DQ);
        Ops.Zero(g.DK);
        Ops.Zero(g.DV);
        TransformerOps.AttentionBackward(plan.Dims(_dims), a.Q, a.K, a.V, a.Attn, a.Lse, g.DAttn, g.DQ, g.DK, g.DV);

        // RoPE is orthogonal: its backward is the inverse rotation of the gradient.
        TransformerOps.Rope(t, _dims.QHeads, _dims.HeadDim, g.DQ, plan.Positions, plan.InvFreq, inverse: true);
        TransformerOps.Rope(t, _dims.KvHeads, _dims.HeadDim, g.DK, plan.Positions, plan.InvFreq, inverse: true);
        Ops.Zero(g.DXn);
        QProj.Backward(a.Xn1, g.DQ, g.DXn, pass);
        KProj.Backward(a.Xn1, g.DK, g.DXn, pass);
        VProj.Backward(a.Xn1, g.DV, g.DXn, pass);
        InputNorm.Backward(t, x, a.Rstd1, g.DXn, dRes);
    }

    public IEnumerable<Parameter> BaseParameters()
    {
        if (InputNorm.Parameter is { } n1)
        {
            yield return n1;
        }

        foreach (AdaptedLinear p in Projections)
        {
            if (p.Base.WeightParameter is { } w)
            {
                yield return w;
            }
        }

        if (PostNorm.Parameter is { } n2)
        {
            yield return n2;
        }
    }

    public void Dispose()
    {
        InputNorm.Dispose();
        PostNorm.Dispose();
        foreach (AdaptedLinear p in Projections)
        {
            p.Dispose();
        }
    }
}
