using MoR.IO;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// The LLaMA peer: the architecture of <c>MoR.Model.LlamaModel</c> written with TorchSharp ops and autograd,
/// loaded from the same Hugging Face folder (config.json through our <see cref="LlamaConfig"/>, weights
/// through our safetensors reader). Frozen weights are F32 or BF16; norms and adapters are always F32;
/// full fine-tuning makes every weight an F32 parameter.
/// </summary>
internal sealed class TorchLlamaModel : IDisposable
{
    private static readonly string[] ProjectionNames =
        ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"];

    private readonly TTensor _embedding, _finalNorm, _head;
    private readonly TorchDecoderLayer[] _layers;
    private readonly TorchRope _rope;

    private TorchLlamaModel(LlamaConfig config, bool trainable, TTensor embedding, TorchDecoderLayer[] layers, TTensor finalNorm, TTensor head)
    {
        Config = config;
        Trainable = trainable;
        (_embedding, _layers, _finalNorm, _head) = (embedding, layers, finalNorm, head);
        _rope = new TorchRope(config.RopeInverseFrequencies(), config.MaxPositionEmbeddings);
        Linears = layers.SelectMany(l => l.Projections).ToDictionary(p => p.Path, StringComparer.Ordinal);
    }

    public LlamaConfig Config { get; }

    /// <summary>Full fine-tuning: every weight is a parameter.</summary>
    public bool Trainable { get; }

    /// <summary>Every projection by its Hugging Face module path.</summary>
    public IReadOnlyDictionary<string, TorchLinear> Linears { get; }

    /// <summary>Loads a model folder.</summary>
    /// <param name="directory">config.json + model.safetensors (or a sharded index).</param>
    /// <param name="frozenDType">The dtype of frozen 2-D weights; null keeps them as stored (F16 becomes F32), as <c>mor eval</c> does.</param>
    /// <param name="trainable">Full fine-tuning (everything F32 and trainable).</param>
    public static TorchLlamaModel Load(string directory, ScalarType? frozenDType, bool trainable)
    {
        LlamaConfig config = LlamaConfig.Load(directory);
        using CheckpointReader checkpoint = CheckpointReader.Open(directory);
        config.VerifyCheckpoint(checkpoint);
        TTensor Weight(string name)
        {
            bool keepF32 = trainable || checkpoint.GetInfo(name).Shape.Count == 1;
            TTensor t = TorchCheckpoint.Read(checkpoint, name, keepF32 ? ScalarType.Float32 : frozenDType);
            return trainable ? new Parameter(t) : t;
        }

        var layers = new TorchDecoderLayer[config.NumHiddenLayers];
        for (int i = 0; i < layers.Length; i++)
        {
            string prefix = $"model.layers.{i}.";
            TorchLinear[] projections =
                [.. ProjectionNames.Select(p => new TorchLinear(prefix + p, TorchCheckpoint.Read(checkpoint, prefix + p + ".weight", trainable ? ScalarType.Float32 : frozenDType), trainable))];
            layers[i] = new TorchDecoderLayer(i, config.NumAttentionHeads, config.NumKeyValueHeads, config.HeadDim, config.RmsNormEps,
                Weight(prefix + "input_layernorm.weight"), Weight(prefix + "post_attention_layernorm.weight"), projections);
        }

        TTensor embedding = Weight("model.embed_tokens.weight");
        TTensor head = config.TieWordEmbeddings ? embedding : Weight("lm_head.weight");
        return new TorchLlamaModel(config, trainable, embedding, layers, Weight("model.norm.weight"), head);
    }

    /// <summary>The weights that train under full fine-tuning, else every adapter's, in a fixed order.</summary>
    public IReadOnlyList<Parameter> TrainableParameters()
    {
        if (!Trainable)
        {
            return [.. Linears.Values.SelectMany(l => l.Adapter?.Parameters ?? [])];
        }

        IEnumerable<TTensor> all = _layers
            .SelectMany(l => l.Projections.Select(p => p.Weight).Concat(l.NormWeights))
            .Prepend(_embedding)
            .Append(_finalNorm);
        if (!ReferenceEquals(_head, _embedding))
        {
            all = all.Append(_head);
        }

        return [.. all.Cast<Parameter>()];
    }

    /// <summary>Logits [B, T, vocab] (F32) for ids [B, T] (int64); with a cache, ids continue what it holds.</summary>
    public TTensor Logits(TTensor ids, TorchKvCache? cache = null)
    {
        long b = ids.shape[0], t = ids.shape[1];
        TTensor x = _embedding.index_select(0, ids.reshape(-1)).reshape(b, t, Config.HiddenSize);
        x = x.dtype == ScalarType.Float32 ? x : x.to_type(ScalarType.Float32);
        foreach (TorchDecoderLayer layer in _layers)
        {
            x = layer.Forward(x, _rope, cache);
        }

        cache?.Advance(t);
        return TorchLinear.Project(TorchDecoderLayer.RmsNorm(x, _finalNorm, Config.RmsNormEps), _head);
    }

    /// <summary>Cross-entropy over the targets that are not -100 (already shifted: targets[b, t] is what position t predicts).</summary>
    /// <param name="ids">[B, T] int64.</param>
    /// <param name="targets">[B, T] int64.</param>
    /// <param name="sum">Sum instead of mean (evaluation adds sequences up).</param>
    public TTensor Loss(TTensor ids, TTensor targets, bool sum = false)
    {
        TTensor logits = Logits(ids);
        return nn.functional.cross_entropy(logits.reshape(-1, Config.VocabSize), targets.reshape(-1), ignore_index: -100,
            reduction: sum ? nn.Reduction.Sum : nn.Reduction.Mean);
    }

    public TorchKvCache NewCache(long batch, long capacity) =>
        new(_layers.Length, batch, Config.NumKeyValueHeads, capacity, Config.HeadDim);

    public void Dispose()
    {
        foreach (TorchDecoderLayer layer in _layers)
        {
            layer.Dispose();
        }

        _rope.Dispose();
        _finalNorm.Dispose();
        if (!ReferenceEquals(_head, _embedding))
        {
            _head.Dispose();
        }

        _embedding.Dispose();
    }
}
