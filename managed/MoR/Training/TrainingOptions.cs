using MoR.Adapters;

namespace MoR.Training;

/// <summary>
/// Everything that defines a training run. Serialised as <c>training_config.json</c> beside the
/// outputs, and saved in every checkpoint so that a resume can refuse changed settings.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>The default target modules: the FFN projections, the paper's placement (MOR.md §1).</summary>
    public static IReadOnlyList<string> DefaultTargetModules { get; } = ["gate_proj", "up_proj", "down_proj"];

    /// <summary>What is trained.</summary>
    public TrainingMethod Method { get; init; } = TrainingMethod.MoR;

    /// <summary>Adapter rank r (per expert for MoE-LoRA).</summary>
    public int Rank { get; init; } = 8;

    /// <summary>Experts N (MoR, MoE-LoRA).</summary>
    public int Experts { get; init; } = 8;

    /// <summary>α; adapters scale their output by α / r.</summary>
    public float Alpha { get; init; } = 16f;

    /// <summary>
    /// Adapter dropout probability (PEFT's <c>lora_dropout</c>): during training each adapter drops elements of
    /// its own copy of the input (the frozen base sees x unchanged), inverted scaling 1/(1−p); evaluation and
    /// generation never drop. Masks are keyed by (<see cref="Seed"/>, step, micro-batch, module), so a resumed
    /// run reproduces them bit for bit. Also recorded as <c>lora_dropout</c> in the adapter config.
    /// </summary>
    public float Dropout { get; init; }

    /// <summary>Module-name suffixes (PEFT's <c>target_modules</c>) that get adapters.</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = DefaultTargetModules;

    /// <summary>How the MoR / MoE-LoRA router starts.</summary>
    public RouterInit RouterInit { get; init; } = RouterInit.Normal;

    /// <summary>
    /// α of the router load-balancing loss (MoR, MoE-LoRA; 0 = off, the paper's plain softmax router): the objective
    /// gains α·mean over routed layers of N·Σ_i P_i², P_i the mean gate of expert i over a micro-batch's tokens
    /// (<see cref="Adapters.RouterBalanceLoss"/>). Its value is α at uniform expert usage and reported apart from the
    /// token loss (<see cref="StepMetrics.RouterBalanceLoss"/>). Switch Transformer used 0.01.
    /// </summary>
    public float RouterBalanceLoss { get; init; }

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

    /// <summary>Seeds adapter initialisation and the data order.</summary>
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

        Require(Enum.IsDefined(Method), $"Unknown method {Method}.", nameof(Method));
        Require(Rank >= 1, $"rank must be >= 1; got {Rank}.", nameof(Rank));
        Require(Experts >= 1, $"experts must be >= 1; got {Experts}.", nameof(Experts));
        Require(float.IsFinite(Alpha) && Alpha > 0, $"alpha must be a positive number; got {Alpha}.", nameof(Alpha));
        Require(Dropout is >= 0 and < 1, $"dropout must be in [0, 1); got {Dropout}.", nameof(Dropout));
        Require(float.IsFinite(RouterBalanceLoss) && RouterBalanceLoss >= 0, $"router balance loss must be a number >= 0; got {RouterBalanceLoss}.", nameof(RouterBalanceLoss));
        Require(RouterBalanceLoss == 0 || Method is TrainingMethod.MoR or TrainingMethod.MoELoRA, $"router balance loss needs a routed method (mor, moe-lora); got {Method}.", nameof(RouterBalanceLoss));
        Require(TargetModules.Count > 0 || Method == TrainingMethod.Full, "target modules must not be empty.", nameof(TargetModules));
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

    /// <summary>The adapter hyper-parameters for the adapter methods.</summary>
    public AdapterOptions ToAdapterOptions() =>
        new(Method.AdapterKindOf() ?? AdapterKind.LoRA, Rank, Alpha, Experts, RouterInit, Seed, Dropout);
}
