namespace MoR.Model;

/// <summary>
/// Keys (after RoPE) and values of every layer for one sequence, [capacity, kv_heads × head_dim] each,
/// so <see cref="LlamaModel.Decode"/> only runs the new tokens. Create it with
/// <see cref="LlamaModel.NewCache"/>; dispose it to free the device memory.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys;
    private readonly Tensor[] _values;

    internal KvCache(LlamaModel owner, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Owner = owner;
        Capacity = capacity;
        int layers = owner.Config.NumHiddenLayers;
        long width = (long)owner.Config.NumKeyValueHeads * owner.Config.HeadDim;
        _keys = new Tensor[layers];
        _values = new Tensor[layers];
        try
        {
            for (int i = 0; i < layers; i++)
            {
                _keys[i] = Tensor.Empty(owner.Device, DType.F32, capacity, width);
                _values[i] = Tensor.Empty(owner.Device, DType.F32, capacity, width);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The most tokens the cache holds.</summary>
    public int Capacity { get; }

    /// <summary>Tokens decoded so far (the position the next token gets).</summary>
    public int Length { get; internal set; }

    /// <summary>Whether <see cref="Dispose"/> was called.</summary>
    public bool IsDisposed { get; private set; }

    internal LlamaModel Owner { get; }

    internal IReadOnlyList<Tensor> Keys => _keys;

    internal IReadOnlyList<Tensor> Values => _values;

    /// <summary>Forgets every token (the memory is kept for the next sequence).</summary>
    public void Reset() => Length = 0;

    /// <summary>Keeps only the first <paramref name="length"/> tokens (for example to drop a rejected continuation).</summary>
    /// <param name="length">In [0, <see cref="Length"/>].</param>
    public void Truncate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
        Length = length;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        IsDisposed = true;
        foreach (Tensor? t in _keys.Concat(_values))
        {
            t?.Dispose();
        }
    }
}
