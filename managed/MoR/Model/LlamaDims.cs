using MoR.IO;

namespace MoR.Model;

/// <summary>The sizes the kernels need, read once from a <see cref="LlamaConfig"/>.</summary>
internal readonly record struct LlamaDims(int Hidden, int Intermediate, int Layers, int QHeads, int KvHeads, int HeadDim, int Vocab)
{
    public static LlamaDims From(LlamaConfig c) =>
        new(c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim, c.VocabSize);

    public int QWidth => QHeads * HeadDim;

    public int KvWidth => KvHeads * HeadDim;
}
