using MoR.Interop;

namespace MoR.Model;

/// <summary>
/// How one forward lays out attention: the batch shape, RoPE positions, and where keys and values are read
/// from (the layer's own K/V for training, the KV cache's rows for decoding).
/// </summary>
internal readonly record struct AttentionPlan(int Batch, int QLen, int Past, Tensor Positions, Tensor InvFreq, KvCache? Cache)
{
    public MorAttentionDims Dims(LlamaDims d)
    {
        long kvLen = Cache is null ? QLen : Past + QLen;
        long kvRows = Cache is null ? QLen : Cache.Capacity;
        return new MorAttentionDims
        {
            Batch = Batch,
            QLen = QLen,
            KvLen = kvLen,
            QHeads = d.QHeads,
            KvHeads = d.KvHeads,
            HeadDim = d.HeadDim,
            QOffset = 0,
            QRowStride = d.QWidth,
            KOffset = 0,
            VOffset = 0,
            KvRowStride = d.KvWidth,
            KvBatchStride = kvRows * d.KvWidth,
            Scale = 1f / MathF.Sqrt(d.HeadDim),
            Causal = 1,
        };
    }
}
