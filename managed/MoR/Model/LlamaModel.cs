using MoR.Adapters;
using MoR.IO;
using MoR.Modules;

namespace MoR.Model;

/// <summary>
/// A LLaMA-architecture causal language model (HF <c>LlamaForCausalLM</c>) on the native ops, with explicit
/// forward and backward in the style of llm.c: no autograd tape; each layer's saved activations live in
/// buffers allocated once per micro-batch shape, so a steady-state training step allocates nothing.
/// </summary>
/// <remarks>
/// <para>Two training modes: full fine-tuning (every weight an F32 <see cref="Parameter"/>, see
/// <see cref="FullFineTuning"/>) and adapter training (frozen base, F32 or BF16, with adapters plugged into
/// the projections of <see cref="Linears"/>, e.g. by <see cref="AdapterInjector"/>; no weight-gradient
/// buffer is ever allocated for the base).</para>
/// <para>The LM head and cross-entropy run in chunks of <see cref="LogitsChunkTokens"/> rows, so the full
/// tokens × vocabulary logits are never materialised.</para>
/// <para>Not thread-safe: one forward/backward at a time.</para>
/// </remarks>
public sealed partial class LlamaModel : IAdaptableModel, IDisposable
{
    // Logit chunks hold at most this many floats (32 MiB): enough rows for efficient GEMMs at any vocabulary size.
    private const long LogitChunkElements = 8L << 20;

    private readonly LlamaDims _dims;
    private readonly TokenEmbedding _embedding;
    private readonly DecoderLayer[] _layers;
    private readonly RmsNorm _finalNorm;
    private readonly Linear? _lmHead;
    private readonly Tensor _invFreq;
    private readonly Dictionary<string, AdaptedLinear> _linears;
    private readonly List<ModelActivations> _inference = [];
    private ModelActivations? _training;
    private bool _disposed;

    private LlamaModel(LlamaConfig config, Device device, bool trainable, IDictionary<string, Tensor> weights)
    {
        Config = config;
        Device = device;
        FullFineTuning = trainable;
        _dims = LlamaDims.From(config);
        float eps = (float)config.RmsNormEps;

        // Ownership of each weight passes to its module as soon as the module exists, so on failure
        // Dispose() frees the built modules and the caller frees what is left in the dictionary.
        _embedding = new TokenEmbedding(Take(weights, TokenEmbedding.Name), trainable);
        _layers = new DecoderLayer[config.NumHiddenLayers];
        _linears = new Dictionary<string, AdaptedLinear>(StringComparer.Ordinal);
        for (int i = 0; i < _layers.Length; i++)
        {
            string prefix = $"model.layers.{i}.";
            var input = new RmsNorm(prefix + "input_layernorm.weight", Take(weights, prefix + "input_layernorm.weight"), eps, trainable);
            var post = new RmsNorm(prefix + "post_attention_layernorm.weight", Take(weights, prefix + "post_attention_layernorm.weight"), eps, trainable);
            var projections = new AdaptedLinear[DecoderLayer.ProjectionNames.Length];
            for (int p = 0; p < projections.Length; p++)
            {
                string path = prefix + DecoderLayer.ProjectionNames[p];
                projections[p] = new AdaptedLinear(new Linear(path, Take(weights, path + ".weight"), trainable));
                _linears.Add(path, projections[p]);
            }

            _layers[i] = new DecoderLayer(i, _dims, input, post, projections);
        }

        _finalNorm = new RmsNorm("model.norm.weight", Take(weights, "model.norm.weight"), eps, trainable);
        if (!config.TieWordEmbeddings)
        {
            _lmHead = new Linear("lm_head", Take(weights, "lm_head.weight"), trainable);
        }

        _invFreq = Tensor.FromSpan<float>(device, config.RopeInverseFrequencies());
        LogitsChunkTokens = (int)Math.Max(1, LogitChunkElements / config.VocabSize);
    }

    /// <summary>The architecture.</summary>
    public LlamaConfig Config { get; }

    /// <summary>Where the weights and activations live.</summary>
    public Device Device { get; }

    /// <summary>Whether every base weight is trainable (F32 with a gradient); otherwise the base is frozen.</summary>
    public bool FullFineTuning { get; }

    /// <summary>The directory the model was loaded from (null for a random model): PEFT's <c>base_model_name_or_path</c>.</summary>
    public string? SourcePath { get; private set; }

    /// <summary>What <see cref="Load"/> noticed but did not refuse (e.g. an <c>lm_head.weight</c> that <c>tie_word_embeddings</c> makes it ignore), one sentence each.</summary>
    public IReadOnlyList<string> LoadWarnings { get; private init; } = [];

    /// <summary>
    /// Activation recomputation: keep only each layer's input during forward and recompute the layer's
    /// activations right before its backward (about one extra forward of compute for much less memory).
    /// </summary>
    public bool RecomputeActivations { get; set; }

    /// <summary>Rows of the LM head processed at once (the logits chunk is this × vocabulary floats).</summary>
    public int LogitsChunkTokens
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    }

    /// <summary>Every projection by HF module path (<c>model.layers.{i}.self_attn.q_proj</c>, … <c>mlp.down_proj</c>), in layer order.</summary>
    public IReadOnlyDictionary<string, AdaptedLinear> Linears => _linears;

    /// <inheritdoc/>
    public IReadOnlyList<string> ProjectionNames => DecoderLayer.ProjectionNames;

    /// <summary>The weight the LM head multiplies by: <c>lm_head.weight</c>, or the embedding when tied.</summary>
    internal Tensor HeadWeight => _lmHead?.Weight ?? _embedding.Weight;

    /// <summary>Where the LM head's weight gradient goes (null when frozen).</summary>
    internal Tensor? HeadGrad => _lmHead is not null ? _lmHead.WeightParameter?.Grad : _embedding.Parameter?.Grad;

    /// <summary>The parameters an optimizer updates: every base weight when <see cref="FullFineTuning"/>, then every attached adapter's.</summary>
    /// <returns>A fixed order: embedding, layers (input norm, q, k, v, o, gate, up, down, post norm), final norm, LM head, adapters in module order.</returns>
    public IReadOnlyList<Parameter> TrainableParameters() => [.. NamedTrainableParameters().Select(p => p.Value)];

    /// <summary>
    /// <see cref="TrainableParameters"/> with unique names: HF tensor names for base weights
    /// (<c>model.layers.0.mlp.up_proj.weight</c>) and <c>&lt;module path&gt;.&lt;parameter&gt;</c> for adapters.
    /// </summary>
    /// <returns>Name → parameter pairs, in the order of <see cref="TrainableParameters"/>.</returns>
    public IReadOnlyList<KeyValuePair<string, Parameter>> NamedTrainableParameters()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var list = new List<KeyValuePair<string, Parameter>>();
        void Add(string name, Parameter? p)
        {
            if (p is not null)
            {
                list.Add(new(name, p));
            }
        }

        Add(TokenEmbedding.Name, _embedding.Parameter);
        foreach (DecoderLayer layer in _layers)
        {
            Add(layer.InputNorm.Name, layer.InputNorm.Parameter);
            foreach (AdaptedLinear p in layer.Projections)
            {
                Add(p.Name + ".weight", p.Base.WeightParameter);
            }

            Add(layer.PostNorm.Name, layer.PostNorm.Parameter);
        }

        Add(_finalNorm.Name, _finalNorm.Parameter);
        Add("lm_head.weight", _lmHead?.WeightParameter);
        foreach ((string path, AdaptedLinear linear) in _linears)
        {
            if (linear.Adapter is { } adapter)
            {
                foreach (Parameter p in adapter.Parameters)
                {
                    Add($"{path}.{p.Name}", p);
                }
            }
        }

        return list;
    }

    /// <summary>
    /// Tells every adapter its parameters changed (MoR rebuilds its Q = ω_B ⊙ B). <see cref="ForwardBackward"/>
    /// and <see cref="Evaluate"/> do this themselves; call it after an optimizer step before <see cref="Decode"/>.
    /// </summary>
    public void NotifyParametersChanged()
    {
        foreach (AdaptedLinear linear in _linears.Values)
        {
            linear.Adapter?.OnParametersChanged();
        }
    }

    /// <summary>A KV cache for one sequence of up to <paramref name="capacity"/> tokens.</summary>
    /// <param name="capacity">The most tokens it will hold.</param>
    /// <returns>An empty cache; dispose it when done.</returns>
    public KvCache NewCache(int capacity)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        NotifyParametersChanged();
        return new KvCache(this, capacity);
    }

    /// <summary>Frees the activation buffers (they are reallocated on the next call); the weights stay.</summary>
    public void ReleaseActivations()
    {
        _training?.Dispose();
        _training = null;
        foreach (ModelActivations a in _inference)
        {
            a.Dispose();
        }

        _inference.Clear();
    }

    /// <summary>Frees every weight, adapter, gradient and activation buffer.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ReleaseActivations();
        _embedding?.Dispose();
        foreach (DecoderLayer? layer in _layers ?? [])
        {
            layer?.Dispose();
        }

        _finalNorm?.Dispose();
        _lmHead?.Dispose();
        _invFreq?.Dispose();
    }

    private static Tensor Take(IDictionary<string, Tensor> weights, string name)
    {
        Tensor t = weights[name];
        weights.Remove(name);
        return t;
    }
}
