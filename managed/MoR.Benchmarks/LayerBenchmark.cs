namespace MoR.Benchmarks;

/// <summary>
/// Forward + backward time of one <see cref="MoR.Adapters.AdaptedLinear"/> with each registered adapter method
/// next to the frozen base alone, measured in the same run on the same base weight — the managed counterpart
/// of <c>native/bench/layer_bench.cpp</c>, going through the real modules and adapters
/// (<see cref="LayerBenchmarkSession"/> says what one step does).
/// </summary>
/// <remarks>
/// The methods take turns within each iteration (base, LoRA, MoE-LoRA, MoR, base, …), so a burst of other
/// work on the machine lands on all of them rather than on one.
/// </remarks>
public static class LayerBenchmark
{
    /// <summary>Times every method; overheads are relative to the base's median.</summary>
    /// <param name="device">Where to run.</param>
    /// <param name="options">The layer shape and iteration counts.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public static LayerBenchmarkReport Run(Device device, LayerBenchmarkOptions options)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        BenchmarkEnvironment environment = BenchmarkEnvironment.Capture(device);
        using LayerBenchmarkSession session = LayerBenchmarkSession.Create(device, options);
        Action[] steps = [.. LayerBenchmarkSession.Methods.Select(method => (Action)(() => session.Step(method)))];
        TimingSummary[] timings = IterationTimer.MeasureInTurns(steps, device.Synchronize, options.Warmup, options.Iterations);
        return session.CreateReport(timings, environment);
    }
}
