using System.Globalization;
using MoR.Adapters;
using MoR.IO;
using MoR.Model;

namespace MoR.Training;

/// <summary>
/// A good-faith upper estimate of the memory a training run allocates, from the model's dimensions and the run's
/// settings alone — before anything is allocated — so that a size the machine cannot hold is refused with numbers
/// instead of swapping, being killed or failing an allocation minutes in. It follows what the code allocates:
/// <see cref="LlamaModel"/>'s weights, the adapters' parameters and saved activations, AdamW's gradient and two
/// moments per trainable value, the per-layer activation buffers (<c>ModelActivations</c>, <c>LayerActivations</c>,
/// <c>LayerGradients</c>), the logits chunk, the largest transient scratch of an adapter backward
/// (<c>native/src/core/adapter_ops.cpp</c>), the CPU attention's score blocks (<c>native/src/cpu/cpu_attention.cpp</c>)
/// and the packed data rows. Sizes are in bytes, as doubles so that absurd settings cannot overflow.
/// </summary>
/// <param name="Weights">The base model's weights as loaded (frozen dtype, or F32 when fully trained).</param>
/// <param name="Adapters">Adapter parameters and their per-module buffers (MoR's Q, DoRA's norms).</param>
/// <param name="Optimizer">A gradient and AdamW's two moments for every trainable value.</param>
/// <param name="Activations">What forward saves for backward, plus backward's per-layer scratch and the logits chunk.</param>
/// <param name="Workspace">Transient scratch: the largest adapter backward and the attention score blocks.</param>
/// <param name="Data">The packed training and validation rows (host memory).</param>
/// <param name="HostCopies">Host arrays of adapter values that may all be alive at once: the initial values each adapter is
/// built from, and at the end the exported values and the file writer's copy of them (<c>AdapterFolder.Save</c>); for a
/// full model, the largest weight and its copy as it is written.</param>
public sealed record TrainingMemoryEstimate(double Weights, double Adapters, double Optimizer, double Activations, double Workspace, double Data, double HostCopies)
{
    private const double F32 = 4;
    private const double I32 = 4;

    // LlamaModel's logit chunks hold at most this many floats (LlamaModel.LogitChunkElements).
    private const double LogitChunkElements = 8L << 20;

    // Query rows per CPU attention block (kQueryBlock in native/src/cpu/cpu_attention.cpp).
    private const double AttentionQueryBlock = 128;

    /// <summary>Everything, in bytes.</summary>
    public double Total => Weights + Adapters + Optimizer + Activations + Workspace + Data + HostCopies;

    /// <summary>What lives on the compute device (everything but the data rows and the save copies, which are host memory).</summary>
    public double DeviceBytes => Total - Data - HostCopies;

    /// <summary>What lives in host memory whatever the device: the data rows and the save copies.</summary>
    public double HostBytes => Data + HostCopies;

    /// <summary>Estimates a run.</summary>
    /// <param name="config">The model's architecture (validated).</param>
    /// <param name="options">The run's settings (method, rank, experts, targets, micro-batch, sequence length, dropout).</param>
    /// <param name="frozenBytesPerValue">Bytes per frozen matrix value as loaded: 2 for BF16, 4 for F32 (F16 is widened to F32).</param>
    /// <param name="recompute">Activation recomputation (one layer's saved set instead of all).</param>
    /// <param name="attentionWorkers">Threads of the CPU attention, each keeping its score blocks (<c>Device.CpuThreads</c>); 0 for CUDA, whose flash attention keeps none.</param>
    /// <param name="dataRows">Packed rows of training and validation data.</param>
    /// <returns>The estimate.</returns>
    public static TrainingMemoryEstimate For(
        LlamaConfig config, TrainingOptions options, int frozenBytesPerValue = 4, bool recompute = false, int attentionWorkers = 1, long dataRows = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(attentionWorkers);
        ArgumentOutOfRangeException.ThrowIfNegative(dataRows);
        double d = config.HiddenSize, ff = config.IntermediateSize, layers = config.NumHiddenLayers, heads = config.NumAttentionHeads;
        double q = heads * config.HeadDim, kv = (double)config.NumKeyValueHeads * config.HeadDim, vocab = config.VocabSize;
        double seq = options.SequenceLength, tokens = (double)options.MicroBatchSize * seq;
        bool full = options.Adapter is null;

        // Weights: per layer q, k, v, o and the three MLP matrices; the embedding and (unless tied) the LM head; norms stay F32.
        double matrices = (layers * ((2 * q * d) + (2 * kv * d) + (3 * ff * d))) + (vocab * d * (config.TieWordEmbeddings ? 1 : 2));
        double norms = (2 * layers * d) + d;
        double weights = ((full ? F32 : frozenBytesPerValue) * matrices) + (F32 * norms) + (F32 * (config.HeadDim / 2));  // + RoPE's inverse frequencies

        // Adapters: the values their export holds are exactly their parameters, plus each kind's buffers; saved
        // activations per token, and the largest backward scratch (freed after each module, so the maximum counts).
        double adapterValues = 0, adapterBuffers = 0, adapterSaved = 0, adapterScratch = 0;
        if (options.Adapter is { } adapter)
        {
            foreach ((string Name, double In, double Out) module in Modules(config))
            {
                if (!Targeted(config.NumHiddenLayers, module.Name, adapter, out double copies))
                {
                    continue;
                }

                AdapterFootprint f = adapter.Method.Footprint(adapter, module.In, module.Out);
                adapterValues += copies * f.Parameters;
                adapterBuffers += copies * f.Buffers;
                adapterSaved += copies * (f.SavedPerToken + (adapter.Dropout > 0 ? module.In : 0)) * tokens;
                adapterScratch = Math.Max(adapterScratch, (f.ScratchPerToken * tokens) + f.ScratchFixed);
            }
        }

        double trainable = full ? matrices + norms : adapterValues;

        // Activations (ModelActivations): the residual stream entering every layer and leaving the last; per layer
        // x̂1, x_mid, x̂2 [T, d], q and attn [T, q], k and v [T, kv], gate, up, act [T, ff], two rstd and the lse per head;
        // o/down outputs, the final norm output and both gradients of the stream [T, d]; ids and positions; backward's
        // per-layer scratch (LayerGradients); one logits chunk of rows × vocabulary with its targets and losses.
        double perLayer = tokens * ((3 * d) + (2 * q) + (2 * kv) + (3 * ff) + 2 + heads);
        double chunkRows = Math.Min(tokens, Math.Max(1, Math.Floor(LogitChunkElements / vocab)));
        double activations = F32 * (
            ((layers + 1) * tokens * d) + ((recompute ? 1 : layers) * perLayer) + (4 * tokens * d) + tokens
            + (tokens * (d + (3 * ff) + (2 * q) + (2 * kv))) + (chunkRows * vocab) + (2 * chunkRows) + adapterSaved)
            + (I32 * 2 * tokens);

        // CPU attention: each worker keeps a probability block and its gradient (query rows × keys); with grouped
        // heads, backward also keeps each query head's dK/dV partials, 2 · batch · heads · seq · head_dim floats.
        double attention = attentionWorkers * 2 * Math.Min(AttentionQueryBlock, seq) * seq;
        if (attentionWorkers > 0 && kv < q)
        {
            attention += 2 * tokens * q;
        }

        double workspace = F32 * (adapterScratch + attention);

        // Data: every packed row's inputs and targets, plus the packer's two working rows and one micro-batch's copy.
        double data = (I32 * 2 * dataRows * seq) + (I32 * 2 * (seq + 1)) + (I32 * 2 * tokens);

        // Host copies: the float arrays adapters are built from, their export and the writer's byte copy of it (garbage
        // the collector need not have reclaimed); a full model is written tensor by tensor, the largest and its copy.
        double hostCopies = full ? 2 * F32 * Math.Max(vocab * d, Math.Max(ff * d, q * d)) : 3 * F32 * adapterValues;

        return new TrainingMemoryEstimate(
            weights, F32 * (adapterValues + adapterBuffers), 3 * F32 * trainable, activations, workspace, data, hostCopies);
    }

    /// <summary>
    /// Throws <see cref="TrainingMemoryException"/> when the run would not fit: on the CPU everything counts against
    /// <paramref name="limit"/>; on CUDA the device part against it and the data rows against <paramref name="hostLimit"/>.
    /// </summary>
    /// <param name="limit">What the compute device has free.</param>
    /// <param name="hostLimit">What the host has free, when the device is not the host (CUDA); null on the CPU.</param>
    /// <param name="options">The run's settings (the message names what to lower).</param>
    /// <exception cref="TrainingMemoryException">The estimate exceeds a limit.</exception>
    public void EnsureFits(MemoryLimit limit, MemoryLimit? hostLimit, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(limit);
        ArgumentNullException.ThrowIfNull(options);
        double needed = hostLimit is null ? Total : DeviceBytes;
        if (needed > limit.Bytes)
        {
            throw new TrainingMemoryException(this, needed, Breakdown(hostLimit is null), limit, Advice(options, hostLimit is null));
        }

        if (hostLimit is not null && HostBytes > hostLimit.Bytes)
        {
            throw new TrainingMemoryException(
                this, HostBytes, $"data rows {Format(Data)}, host copies {Format(HostCopies)}", hostLimit, "lower --seq-len, --rank or --experts, or use less data (these are held in host memory)");
        }
    }

    /// <summary>The components worth naming (1% of the total or more) as text, largest first: "activations 12.0 GiB, weights 1.2 GiB".</summary>
    /// <param name="includeHost">Count the host-only parts (false for a device that is not the host).</param>
    /// <returns>One line.</returns>
    public string Breakdown(bool includeHost = true) => string.Join(", ", Major(includeHost).Select(p => $"{p.Name} {Format(p.Bytes)}"));

    /// <summary>Bytes as GiB (or MiB below one GiB), for messages.</summary>
    /// <param name="bytes">The size.</param>
    /// <returns>E.g. <c>12.3 GiB</c>.</returns>
    public static string Format(double bytes) => bytes >= 1 << 30
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (1 << 30):#,0.0} GiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / (1 << 20):0.0} MiB");

    // The parts worth naming: at least 1% of the total, largest first.
    private IEnumerable<(string Name, double Bytes)> Major(bool includeHost)
    {
        double total = includeHost ? Total : DeviceBytes;
        return Parts().Where(p => (includeHost || !p.Host) && p.Bytes > 0 && p.Bytes >= 0.01 * total).Select(p => (p.Name, p.Bytes)).OrderByDescending(p => p.Bytes);
    }

    private (string Name, double Bytes, bool Host)[] Parts() =>
    [
        ("weights", Weights, false), ("adapters", Adapters, false), ("gradients and AdamW moments", Optimizer, false), ("activations", Activations, false),
        ("workspace", Workspace, false), ("data rows", Data, true), ("host copies", HostCopies, true),
    ];

    // What to lower, the biggest part's knobs first.
    private string Advice(TrainingOptions options, bool hostCounts)
    {
        var advice = new List<string>();
        foreach ((string name, double _) in Major(hostCounts))
        {
            advice.AddRange(name switch
            {
                "activations" => ["--micro-batch (with more --grad-accum to keep the batch)", "--seq-len", "or pass --recompute"],
                "workspace" => options.Adapter is { IsRouted: true } ? ["--seq-len", "--rank", "--experts"] : ["--seq-len"],
                "adapters" or "gradients and AdamW moments" or "host copies" => options.Adapter is null
                    ? ["a LoRA-style --method instead of full"]
                    : options.Adapter.IsRouted ? ["--rank", "--experts", "--target-modules"] : ["--rank", "--target-modules"],
                "weights" => ["--bf16-base"],
                "data rows" => ["--seq-len"],
                _ => [],
            });
        }

        return "lower " + string.Join(", ", advice.Distinct());
    }

    private static IEnumerable<(string Name, double In, double Out)> Modules(LlamaConfig c)
    {
        double d = c.HiddenSize, ff = c.IntermediateSize, q = (double)c.NumAttentionHeads * c.HeadDim, kv = (double)c.NumKeyValueHeads * c.HeadDim;
        yield return ("self_attn.q_proj", d, q);
        yield return ("self_attn.k_proj", d, kv);
        yield return ("self_attn.v_proj", d, kv);
        yield return ("self_attn.o_proj", q, d);
        yield return ("mlp.gate_proj", d, ff);
        yield return ("mlp.up_proj", d, ff);
        yield return ("mlp.down_proj", ff, d);
    }

    // How many layers' copies of a projection the targets select, as AdapterInjector.Match would.
    private static bool Targeted(int layers, string projection, AdapterConfig adapter, out double copies)
    {
        int count = 0;
        for (int i = 0; i < layers; i++)
        {
            string path = $"model.layers.{i}.{projection}";
            if (AdapterInjector.Targets(adapter, path))
            {
                count++;
            }
        }

        copies = count;
        return count > 0;
    }
}
