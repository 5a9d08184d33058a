namespace MoR.Benchmarks;

/// <summary>The fwd+bwd time of one method on the benchmarked layer.</summary>
/// <param name="Method"><see cref="LayerBenchmarkOptions.Base"/> or a method's name (<c>mor</c>, …).</param>
/// <param name="Timing">Per-iteration times of forward + backward.</param>
/// <param name="OverheadPercent">(median − base median) / base median × 100; 0 for the base itself.</param>
/// <param name="FlopFloorPercent">The method's extra FLOPs over the base's (MOR.md §2): the least overhead it can have.</param>
/// <param name="Gflops">The method's training-step FLOPs over its median time, in GFLOP/s.</param>
public sealed record LayerResult(string Method, TimingSummary Timing, double OverheadPercent, double FlopFloorPercent, double Gflops);
