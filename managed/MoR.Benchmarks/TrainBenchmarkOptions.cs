using MoR.Adapters;

namespace MoR.Benchmarks;

/// <summary>What one <c>mor bench train</c> cell runs: a method, a batch shape and how many steps to time.</summary>
/// <param name="Method">A registered method's name (<see cref="AdapterMethods.Names"/>: <c>lora</c>, <c>mor</c>, …) or <c>full</c>.</param>
/// <param name="Batch">Rows per micro-batch (one micro-batch per step).</param>
/// <param name="SeqLen">Tokens per row.</param>
/// <param name="Steps">Timed optimizer steps.</param>
/// <param name="Warmup">Untimed steps first (first-touch allocation, JIT, BLAS thread start-up).</param>
/// <param name="Rank">Adapter rank r.</param>
/// <param name="Experts">Experts N (routed methods).</param>
/// <param name="TargetModules">Adapted projections (the MoR paper's placement by default: gate/up/down).</param>
/// <param name="LearningRate">AdamW learning rate (constant: a benchmark must not depend on a schedule).</param>
/// <param name="Breakdown">Run one more step with every native call timed (and, on CUDA, synchronised) for the op breakdown.</param>
/// <param name="Seed">Seeds the adapters and the random token rows.</param>
public sealed record TrainBenchmarkOptions(
    string Method = "mor",
    int Batch = 1,
    int SeqLen = 256,
    int Steps = 5,
    int Warmup = 2,
    int Rank = 32,
    int Experts = 8,
    IReadOnlyList<string>? TargetModules = null,
    float LearningRate = 1e-4f,
    bool Breakdown = true,
    ulong Seed = 0)
{
    /// <summary>Whether every weight is trained (<see cref="Method"/> is <c>full</c>).</summary>
    public bool FullFineTuning => Adapter is null;

    /// <summary>The adapter config this cell trains (α = 2r; the method's other defaults), or null for full fine-tuning.</summary>
    /// <exception cref="ArgumentException"><see cref="Method"/> is not a method.</exception>
    public AdapterConfig? Adapter
    {
        get
        {
            if (AdapterMethods.DefaultConfig(Method) is not { } c)
            {
                return null;
            }

            c = c with { Rank = Rank, Alpha = 2f * Rank, TargetModules = [.. TargetModules ?? DefaultTargets] };
            return c is RoutedAdapterConfig routed ? routed with { Experts = Experts } : c;
        }
    }

    /// <summary>The projections adapted when <see cref="TargetModules"/> is null.</summary>
    public static IReadOnlyList<string> DefaultTargets { get; } = ["gate_proj", "up_proj", "down_proj"];

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        Check(Batch >= 1, "batch must be >= 1");
        Check(SeqLen >= 2, "sequence length must be >= 2");
        Check(Steps >= 1, "steps must be >= 1");
        Check(Warmup >= 0, "warmup must be >= 0");
        Check(Rank >= 1, "rank must be >= 1");
        Check(Experts >= 1, "experts must be >= 1");
        Check(LearningRate > 0 && float.IsFinite(LearningRate), "learning rate must be a positive number");
        Check(TargetModules is null || TargetModules.Count > 0, "at least one target module is needed");
        Check(Method == AdapterMethods.FullFineTuning || AdapterMethods.Find(Method) is not null,
            $"unknown method '{Method}' (expected one of: {string.Join(", ", AdapterMethods.Names)})");
        Adapter?.Validate();
    }

    private static void Check(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message);
        }
    }
}
