namespace MoR.Benchmarks;

/// <summary>Time one op category (or one native function) took in the profiled step.</summary>
/// <param name="Name">The category (<see cref="OpCategory"/>) or the native function.</param>
/// <param name="Ms">Milliseconds.</param>
/// <param name="Share">Fraction of the profiled step.</param>
/// <param name="Calls">Native calls.</param>
public sealed record OpTime(string Name, double Ms, double Share, long Calls);
