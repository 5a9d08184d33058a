using MoR.Adapters;

namespace MoR.Experiments;

/// <summary>How a MoR router is trained in an ablation.</summary>
public enum RouterMode
{
    /// <summary>The paper's dense softmax router W_g (trained, N(0, 0.02²) start).</summary>
    Softmax,

    /// <summary>Mean pooling: W_g starts at zero and is never updated, so every gate stays 1/N.</summary>
    MeanPooling,

    /// <summary>The softmax router trained with the load-balancing loss (<see cref="ExperimentScale.RouterBalanceLoss"/>).</summary>
    BalanceLoss,
}

/// <summary>One method configuration of the comparison.</summary>
/// <param name="Label">Row label in tables and plots (e.g. <c>lora r=12 (param-matched)</c>).</param>
/// <param name="Method">A registered method's name (<c>lora</c>, <c>mor</c>, …) or <c>full</c>.</param>
/// <param name="Rank">r (per expert for MoE-LoRA); ignored by full fine-tuning.</param>
/// <param name="Experts">N for routed methods.</param>
/// <param name="Router">Router training (MoR only).</param>
public sealed record MethodSpec(string Label, string Method, int Rank, int Experts, RouterMode Router = RouterMode.Softmax)
{
    /// <summary>Whether every weight is trained.</summary>
    public bool FullFineTuning => Method == AdapterMethods.FullFineTuning;

    /// <summary>The method's config at this rank (and expert count) with α = 2r, or null for full fine-tuning.</summary>
    public AdapterConfig? Adapter(IReadOnlyList<string> targets, float routerBalanceLoss = 0)
    {
        if (AdapterMethods.DefaultConfig(Method) is not { } c)
        {
            return null;
        }

        c = c with { Rank = Rank, Alpha = 2f * Rank, TargetModules = targets };
        return c is RoutedAdapterConfig routed ? routed with { Experts = Experts, RouterBalanceLoss = routerBalanceLoss } : c;
    }
}

/// <summary>A (step, value) point of a curve.</summary>
/// <param name="Step">Optimizer step.</param>
/// <param name="Value">Loss in nats per token.</param>
public readonly record struct CurvePoint(int Step, double Value);

/// <summary>Everything measured for one (method, seed) training run.</summary>
public sealed record RunResult
{
    /// <summary>Which experiment (main, ablation-N, teacher-i, ...).</summary>
    public required string Group { get; init; }

    /// <summary>The method configuration.</summary>
    public required MethodSpec Spec { get; init; }

    /// <summary>Seed of adapter initialisation and data order.</summary>
    public required ulong Seed { get; init; }

    /// <summary>Trainable values, as the trainer counts them.</summary>
    public required long TrainableParameters { get; init; }

    /// <summary>Per-task exact match on the test split (empty for teacher suites).</summary>
    public required IReadOnlyDictionary<string, double> TaskAccuracy { get; init; }

    /// <summary>Per-task mean token loss on the test split.</summary>
    public required IReadOnlyDictionary<string, double> TaskLoss { get; init; }

    /// <summary>Mean token loss over the whole test split.</summary>
    public required double TestLoss { get; init; }

    /// <summary>Training throughput: input tokens per second of training steps (evaluation excluded).</summary>
    public required double TokensPerSecond { get; init; }

    /// <summary>The allocator's peak bytes during load + training (Device.AllocatorStats.PeakBytes).</summary>
    public required long PeakBytes { get; init; }

    /// <summary>Training loss per step.</summary>
    public required IReadOnlyList<CurvePoint> TrainCurve { get; init; }

    /// <summary>Validation loss at the periodic evaluations.</summary>
    public required IReadOnlyList<CurvePoint> EvalCurve { get; init; }

    /// <summary>MoR only: mean gate per (task, expert) on test prompts, averaged over tokens and MoR layers; else null.</summary>
    public double[][]? MeanGates { get; init; }

    /// <summary>
    /// MoR only: expert usage on the same test prompts as <see cref="MeanGates"/>, N·Σ_i P_i² with P_i the mean gate of
    /// expert i over all their tokens, averaged over MoR layers (1 = uniform usage, N = one expert); else NaN.
    /// </summary>
    public double GateBalance { get; init; } = double.NaN;

    /// <summary>Wall time of the whole run (training + scoring).</summary>
    public required double Seconds { get; init; }

    /// <summary>Mean exact match over tasks (NaN when none were scored).</summary>
    public double MeanAccuracy => TaskAccuracy.Count == 0 ? double.NaN : TaskAccuracy.Values.Average();
}
