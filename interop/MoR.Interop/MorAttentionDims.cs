using System.Runtime.InteropServices;

namespace MoR.Interop;

/// <summary><c>mor_attention_dims</c>: sizes, offsets and strides of a causal GQA attention call (see mor.h).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MorAttentionDims
{
    public long Batch;
    public long QLen;
    public long KvLen;
    public long QHeads;
    public long KvHeads;
    public long HeadDim;
    public long QOffset;
    public long QRowStride;
    public long KOffset;
    public long VOffset;
    public long KvRowStride;
    public long KvBatchStride;
    public float Scale;
    public int Causal;
}
