using System.Text.Json.Serialization;
using MoR.Adapters;

namespace MoR.Training;

/// <summary>
/// Everything that defines a training run. Serialised as <c>training_config.json</c> beside the
/// outputs, and saved in every checkpoint so that a resume can refuse changed settings.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>
    /// The adapter method and its hyper-parameters (rank, alpha, dropout, targets, and the method's own); null trains
    /// every weight of the model (full fine-tuning). Written as <c>"adapter": {"method": …}</c>.
    /// </summary>
    public AdapterConfig? Adapter { get; init; } = new MoRConfig();

    /// <summary>The method's name (<c>mor</c>, …) or <c>full</c>.</summary>
    [JsonIgnore]
    public string MethodName => Adapter?.Method.Name ?? AdapterMethods.FullFineTuning;

    /// <summary>Whether every weight is trained (no adapter).</summary>
    [JsonIgnore]
    public bool FullFineTuning => Adapter is null;

    /// <summary>The router balance term's coefficient of a routed method; 0 otherwise.</summary>
    [JsonIgnore]
    public float RouterBalanceLoss => (Adapter as RoutedAdapterConfig)?.RouterBalanceLoss ?? 0f;

    /// <summary>Peak learning rate.</summary>
    public float LearningRate { get; init; } = 2e-4f;

    /// <summary>Linear warm-up steps from 0 to <see cref="LearningRate"/>.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>The cosine decay ends at this fraction of the peak learning rate.</summary>
    public float MinLearningRateRatio { get; init; } = 0.1f;

    /// <summary>Optimizer steps in the run.</summary>
    public int MaxSteps { get; init; } = 100;

    /// <summary>AdamW β1.</summary>
    public float Beta1 { get; init; } = 0.9f;

    /// <summary>AdamW β2.</summary>
    public float Beta2 { get; init; } = 0.999f;

    /// <summary>AdamW ε.</summary>
    public float Epsilon { get; init; } = 1e-8f;

    /// <summary>Decoupled weight decay; not applied to parameters whose <see cref="Modules.Parameter.WeightDecay"/> is false (ω scales, magnitudes, norms).</summary>
    public float WeightDecay { get; init; }

    /// <summary>Clip the global gradient norm to this value; 0 turns clipping off.</summary>
    public float MaxGradNorm { get; init; } = 1f;

    /// <summary>Micro-batches whose gradients are summed before each optimizer step.</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>Rows per micro-batch.</summary>
    public int MicroBatchSize { get; init; } = 4;

    /// <summary>Tokens per row.</summary>
    public int SequenceLength { get; init; } = 256;

    /// <summary>Pack several short examples into one row.</summary>
    public bool Packing { get; init; } = true;

    /// <summary>Take no loss on prompts and non-assistant turns.</summary>
    public bool MaskPrompt { get; init; } = true;

    /// <summary>Seeds adapter initialisation, adapter dropout and the data order.</summary>
    public ulong Seed { get; init; }

    /// <summary>Evaluate every this many steps (and at the end); 0 = only at the end (when there is validation data).</summary>
    public int EvalEvery { get; init; }

    /// <summary>At most this many validation micro-batches per evaluation; 0 = all.</summary>
    public int EvalBatches { get; init; }

    /// <summary>Checkpoint every this many steps; 0 = only at the end and on interruption.</summary>
    public int SaveEvery { get; init; }

    /// <summary>Skip (and count) steps with a NaN/Inf loss or gradient instead of stopping.</summary>
    public bool SkipNonFinite { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        static void Require(bool ok, string message, string name)
        {
            if (!ok)
            {
                throw new ArgumentException(message, name);
            }
        }

        Adapter?.Validate();
        Require(float.IsFinite(LearningRate) && LearningRate > 0, $"learning rate must be positive; got {LearningRate}.", nameof(LearningRate));
        Require(MaxSteps >= 1, $"steps must be >= 1; got {MaxSteps}.", nameof(MaxSteps));
        Require(WarmupSteps >= 0 && WarmupSteps <= MaxSteps, $"warmup steps must be in [0, {MaxSteps}]; got {WarmupSteps}.", nameof(WarmupSteps));
        Require(MinLearningRateRatio is >= 0 and <= 1, $"min lr ratio must be in [0, 1]; got {MinLearningRateRatio}.", nameof(MinLearningRateRatio));
        Require(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1, $"betas must be in [0, 1); got {Beta1}, {Beta2}.", nameof(Beta1));
        Require(Epsilon > 0, $"epsilon must be positive; got {Epsilon}.", nameof(Epsilon));
        Require(WeightDecay >= 0, $"weight decay must be >= 0; got {WeightDecay}.", nameof(WeightDecay));
        Require(MaxGradNorm >= 0, $"max grad norm must be >= 0; got {MaxGradNorm}.", nameof(MaxGradNorm));
        Require(GradientAccumulation >= 1, $"gradient accumulation must be >= 1; got {GradientAccumulation}.", nameof(GradientAccumulation));
        Require(MicroBatchSize >= 1, $"micro-batch size must be >= 1; got {MicroBatchSize}.", nameof(MicroBatchSize));
        Require(SequenceLength >= 2, $"sequence length must be >= 2; got {SequenceLength}.", nameof(SequenceLength));
        Require(EvalEvery >= 0 && SaveEvery >= 0 && EvalBatches >= 0, "eval-every, eval-batches and save-every must be >= 0.", nameof(EvalEvery));
    }
}
