using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// Keys and values of every layer for incremental decoding: one preallocated [B, kv_heads, capacity,
/// head_dim] pair per layer, filled in place, so a decode step appends without reallocating the history.
/// </summary>
internal sealed class TorchKvCache : IDisposable
{
    private readonly TTensor[] _keys, _values;

    public TorchKvCache(int layers, long batch, long kvHeads, long capacity, long headDim)
    {
        _keys = new TTensor[layers];
        _values = new TTensor[layers];
        for (int l = 0; l < layers; l++)
        {
            _keys[l] = zeros(batch, kvHeads, capacity, headDim);
            _values[l] = zeros(batch, kvHeads, capacity, headDim);
        }
    }

    /// <summary>Positions already cached (the next token's position).</summary>
    public long Length { get; private set; }

    public long Capacity => _keys[0].shape[2];

    /// <summary>Writes this step's k, v [B, kv_heads, T, head_dim] at <see cref="Length"/>; returns views of everything cached so far.</summary>
    public (TTensor Keys, TTensor Values) Append(int layer, TTensor k, TTensor v)
    {
        long t = k.shape[2];
        if (Length + t > Capacity)
        {
            throw new InvalidOperationException($"KV cache full: {Length} + {t} > capacity {Capacity}.");
        }

        _keys[layer].narrow(2, Length, t).copy_(k);
        _values[layer].narrow(2, Length, t).copy_(v);
        return (_keys[layer].narrow(2, 0, Length + t), _values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>Called once every layer has appended a step of <paramref name="tokens"/> positions.</summary>
    public void Advance(long tokens) => Length += tokens;

    public void Dispose()
    {
        foreach (TTensor t in _keys.Concat(_values))
        {
            t.Dispose();
        }
    }
}
