using TorchSharp;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// One LLaMA block, pre-norm: x += o_proj(attention(RoPE(q), RoPE(k), v)) over RMSNorm(x), then
/// x += down_proj(silu(gate_proj(h)) ⊙ up_proj(h)) over RMSNorm(x). Attention is causal with grouped
/// key/value heads repeated per query group (Hugging Face's repeat_kv), through scaled_dot_product_attention.
/// </summary>
internal sealed class TorchDecoderLayer : IDisposable
{
    private readonly int _index, _heads, _kvHeads, _headDim;
    private readonly double _eps;
    private readonly TTensor _inputNorm, _postAttentionNorm;

    public TorchDecoderLayer(int index, int heads, int kvHeads, int headDim, double eps, TTensor inputNorm, TTensor postAttentionNorm, TorchLinear[] projections)
    {
        (_index, _heads, _kvHeads, _headDim, _eps) = (index, heads, kvHeads, headDim, eps);
        (_inputNorm, _postAttentionNorm) = (inputNorm, postAttentionNorm);
        Projections = projections;
    }

    /// <summary>q, k, v, o, gate, up, down, in Hugging Face order.</summary>
    public IReadOnlyList<TorchLinear> Projections { get; }

    /// <summary>The two norm weights (parameters under full fine-tuning).</summary>
    public IEnumerable<TTensor> NormWeights => [_inputNorm, _postAttentionNorm];

    /// <summary>HF's LlamaRMSNorm in F32: x · rsqrt(mean(x²) + eps) · w.</summary>
    public static TTensor RmsNorm(TTensor x, TTensor weight, double eps) =>
        x * (x.square().mean([-1L], keepdim: true) + eps).rsqrt() * weight;

    /// <summary>x [B, T, d] at positions [start, start + T) → [B, T, d]. With a cache, T &gt; 1 only from position 0 (prefill).</summary>
    public TTensor Forward(TTensor x, TorchRope rope, TorchKvCache? cache)
    {
        long b = x.shape[0], t = x.shape[1], start = cache?.Length ?? 0;
        if (start > 0 && t > 1)
        {
            throw new NotSupportedException("The peer's cache decodes one token at a time after the prefill.");
        }

        TTensor h = RmsNorm(x, _inputNorm, _eps);
        TTensor q = rope.Apply(Heads(Projections[0].Forward(h), b, t, _heads), start);
        TTensor k = rope.Apply(Heads(Projections[1].Forward(h), b, t, _kvHeads), start);
        TTensor v = Heads(Projections[2].Forward(h), b, t, _kvHeads);
        if (cache is not null)
        {
            (k, v) = cache.Append(_index, k, v);
        }

        if (_heads != _kvHeads)
        {
            k = k.repeat_interleave(_heads / _kvHeads, 1);
            v = v.repeat_interleave(_heads / _kvHeads, 1);
        }

        // A prefill is causal; a single decoded token attends to the whole cache (SDPA's causal mask is
        // aligned top-left, so it would wrongly hide all but the first key from a one-row query).
        TTensor attention = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: t > 1);
        x = x + Projections[3].Forward(attention.transpose(1, 2).reshape(b, t, (long)_heads * _headDim));
        TTensor m = RmsNorm(x, _postAttentionNorm, _eps);
        return x + Projections[6].Forward(nn.functional.silu(Projections[4].Forward(m)) * Projections[5].Forward(m));
    }

    public void Dispose()
    {
        foreach (TorchLinear p in Projections)
        {
            p.Dispose();
        }

        _inputNorm.Dispose();
        _postAttentionNorm.Dispose();
    }

    private TTensor Heads(TTensor y, long b, long t, int heads) => y.view(b, t, heads, _headDim).transpose(1, 2);
}
