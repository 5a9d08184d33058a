using MoR.Modules;

namespace MoR.Adapters;

/// <summary>
/// One adapter method, registered once in <see cref="AdapterMethods"/> (PEFT's <c>register_peft_method</c> idea). It
/// names the method, declares its flags, reads and writes its <c>adapter_config.json</c> fields, builds its adapter for
/// a projection and says how big that adapter is — so the CLI, adapter files, merging, the memory estimate, the
/// benchmarks and the experiments all enumerate the registry instead of switching on a method.
/// </summary>
/// <remarks>A method lives in its own folder, <c>managed/MoR/Adapters/&lt;Method&gt;/</c>: config, method, adapter.</remarks>
public abstract class AdapterMethod
{
    /// <summary>The name on the command line and in <c>training_config.json</c>, e.g. <c>moe-lora</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The name in prose and tables, e.g. <c>MoE-LoRA</c>.</summary>
    public abstract string DisplayName { get; }

    /// <summary>The config record's type.</summary>
    public abstract Type ConfigType { get; }

    /// <summary>A config with every default.</summary>
    public abstract AdapterConfig DefaultConfig { get; }

    /// <summary>The flags <c>mor finetune</c> offers for this method, the common ones first.</summary>
    public virtual IReadOnlyList<AdapterOption> Options => AdapterFlags.Common(this);

    /// <summary>Whether a parsed <c>adapter_config.json</c> describes this method (by <c>peft_type</c> and flags such as <c>use_dora</c>).</summary>
    public abstract bool Recognises(PeftConfigReader file);

    /// <summary>The config an <c>adapter_config.json</c> of this method describes (<see cref="PeftConfigReader.ReadCommon{T}"/> reads the fields the LoRA family shares).</summary>
    /// <exception cref="AdapterFolderException">A field of this method is missing or out of range.</exception>
    public abstract AdapterConfig ReadPeft(PeftConfigReader file);

    /// <summary>This method's fields of <c>adapter_config.json</c>, added to (or replacing) PEFT's common LoRA fields.</summary>
    public abstract void WritePeft(AdapterConfig config, IDictionary<string, System.Text.Json.Nodes.JsonNode?> fields);

    /// <summary>A fresh adapter for <paramref name="baseLayer"/>, initialised from <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentException">The config does not fit the layer's shape.</exception>
    public abstract ILinearAdapter Create(AdapterConfig config, Linear baseLayer, ulong seed);

    /// <summary>The tensors an adapter of <paramref name="config"/> exports for a <paramref name="inFeatures"/> → <paramref name="outFeatures"/> projection: suffix and shape, in export order.</summary>
    public abstract IReadOnlyList<(string Suffix, long[] Shape)> ExportedShapes(AdapterConfig config, long inFeatures, long outFeatures);

    /// <summary>
    /// Parameters whose backward is by design not the derivative of the forward (DoRA detaches its row norm, as PEFT
    /// does): finite-difference checks skip them.
    /// </summary>
    public virtual IReadOnlyList<string> DetachedGradients => [];

    /// <summary>What an adapter of <paramref name="config"/> holds and keeps for such a projection (parameters, buffers, saved activations, scratch), as float counts; and its cost.</summary>
    public abstract AdapterFootprint Footprint(AdapterConfig config, double inFeatures, double outFeatures);

    /// <summary>The config of this method with the fields of <paramref name="common"/> (rank, alpha, dropout, targets) and this method's defaults for the rest.</summary>
    public AdapterConfig WithCommon(AdapterConfig common) => DefaultConfig with
    {
        Rank = common.Rank,
        Alpha = common.Alpha,
        Dropout = common.Dropout,
        TargetModules = common.TargetModules,
        TargetModulesPattern = common.TargetModulesPattern,
    };

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// An adapter's size and cost for one projection, as float counts (doubles: absurd sizes must not overflow before they
/// are refused) and FLOPs per token. What the memory estimate, the size checks of adapter files and the benchmarks'
/// FLOP floors read.
/// </summary>
/// <param name="Parameters">Trainable values.</param>
/// <param name="Buffers">Values kept beside the parameters (MoR's Q, DoRA's row norms).</param>
/// <param name="SavedPerToken">Activations kept from forward for backward, per token (dropout's copy of x not included).</param>
/// <param name="ScratchPerToken">Backward's temporaries per token.</param>
/// <param name="ScratchFixed">Backward's temporaries independent of the token count.</param>
/// <param name="ForwardFlopsPerToken">GEMM FLOPs of the adapter's forward per token (its backward is twice that).</param>
public readonly record struct AdapterFootprint(
    double Parameters, double Buffers, double SavedPerToken, double ScratchPerToken, double ScratchFixed, double ForwardFlopsPerToken);
