namespace MoR.Benchmarks;

/// <summary>The time of one GEMM shape with one weight type, and the throughput it implies.</summary>
/// <param name="Shape">The product y [M, N] = x [M, K] · Wᵀ.</param>
/// <param name="WeightDType">W's type: F32, or BF16 (x is then rounded to BF16 inside the GEMM, F32 accumulation).</param>
/// <param name="Timing">Per-call times.</param>
public sealed record GemmResult(GemmShape Shape, DType WeightDType, TimingSummary Timing)
{
    /// <summary>Throughput at the median time, in GFLOP/s (10⁹ FLOP per second).</summary>
    public double GflopsAtMedian => Shape.Flops / (Timing.MedianMs * 1e6);

    /// <summary>Throughput at the fastest time, in GFLOP/s.</summary>
    public double GflopsAtBest => Shape.Flops / (Timing.MinMs * 1e6);
}
