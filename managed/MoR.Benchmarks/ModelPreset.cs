using MoR.IO;

namespace MoR.Benchmarks;

/// <summary>
/// LLaMA shapes the training benchmark builds with random weights when no checkpoint is given: the sizes the
/// performance issue names (a ~30M model for CPUs, LLaMA-2-7B for GPUs) plus a ~100M one and a tiny one for tests.
/// </summary>
public static class ModelPreset
{
    /// <summary>The preset names, smallest first.</summary>
    public static IReadOnlyList<string> Names { get; } = ["tiny", "30m", "100m", "llama2-7b"];

    /// <summary>The configuration of preset <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Not one of <see cref="Names"/>.</exception>
    public static LlamaConfig Get(string name) => name switch
    {
        // Tests: seconds on any machine.
        "tiny" => new LlamaConfig
        {
            HiddenSize = 64,
            IntermediateSize = 176,
            NumHiddenLayers = 2,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            VocabSize = 256,
        },

        // ~30.7M: 8 layers, d=512, GQA 8/2; untied 8192-token embedding and head (8.4M of the total).
        "30m" => new LlamaConfig
        {
            HiddenSize = 512,
            IntermediateSize = 1376,
            NumHiddenLayers = 8,
            NumAttentionHeads = 8,
            NumKeyValueHeads = 2,
            VocabSize = 8192,
            RmsNormEps = 1e-5,
        },

        // ~100M: 12 layers, d=768, GQA 12/4, tied 32000-token embedding (24.6M of the total).
        "100m" => new LlamaConfig
        {
            HiddenSize = 768,
            IntermediateSize = 2048,
            NumHiddenLayers = 12,
            NumAttentionHeads = 12,
            NumKeyValueHeads = 4,
            VocabSize = 32000,
            TieWordEmbeddings = true,
            RmsNormEps = 1e-5,
        },

        // meta-llama/Llama-2-7b-hf's config.json.
        "llama2-7b" => new LlamaConfig
        {
            HiddenSize = 4096,
            IntermediateSize = 11008,
            NumHiddenLayers = 32,
            NumAttentionHeads = 32,
            NumKeyValueHeads = 32,
            VocabSize = 32000,
            RmsNormEps = 1e-5,
            MaxPositionEmbeddings = 4096,
            BosTokenId = 1,
            EosTokenIds = [2],
        },
        _ => throw new ArgumentException($"unknown model preset '{name}' (expected one of: {string.Join(", ", Names)})"),
    };
}
