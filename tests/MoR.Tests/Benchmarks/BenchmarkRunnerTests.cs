using MoR.Adapters;
using MoR.Benchmarks;

namespace MoR.Tests.Benchmarks;

/// <summary>
/// GemmBenchmark and LayerBenchmark on tiny shapes: they run through the real ops and adapters and report
/// finite, positive timings and consistent derived numbers. Nothing here asserts how fast anything is.
/// </summary>
public sealed class BenchmarkRunnerTests
{
    internal static readonly LayerBenchmarkOptions Tiny =
        new(T: 5, DIn: 16, DOut: 24, N: 3, R: 2, Iterations: 3, Warmup: 1);

    [Fact]
    public void GemmBenchmarkTimesEveryShapeAndWeightType()
    {
        GemmShape[] shapes = [new(4, 8, 16), new(7, 3, 5)];

        GemmBenchmarkReport report = GemmBenchmark.Run(Device.Cpu, shapes, iterations: 3);

        Assert.Equal(
            [(shapes[0], DType.F32), (shapes[0], DType.BF16), (shapes[1], DType.F32), (shapes[1], DType.BF16)],
            report.Results.Select(r => (r.Shape, r.WeightDType)));
        foreach (GemmResult r in report.Results)
        {
            AssertTiming(r.Timing, iterations: 3);
            Assert.True(double.IsFinite(r.GflopsAtMedian) && r.GflopsAtMedian > 0, $"{r.Shape} {r.WeightDType}: {r.GflopsAtMedian} GFLOP/s");
            Assert.True(r.GflopsAtBest >= r.GflopsAtMedian);
        }

        Assert.Equal("cpu", report.Environment.Device);
        Assert.True(report.Environment.LogicalProcessors >= 1);
        Assert.False(string.IsNullOrEmpty(report.Environment.NativeBuild));
    }

    [Fact]
    public void GemmBenchmarkRejectsBadArguments()
    {
        Assert.Throws<ArgumentException>(() => GemmBenchmark.Run(Device.Cpu, [], iterations: 1));
        Assert.Throws<ArgumentException>(() => GemmBenchmark.Run(Device.Cpu, [new(0, 2, 2)], iterations: 1));
        Assert.Throws<ArgumentException>(() => GemmBenchmark.Run(Device.Cpu, [new(2, 2, 2)], iterations: 1, weightDTypes: [DType.I32]));
        Assert.Throws<ArgumentOutOfRangeException>(() => GemmBenchmark.Run(Device.Cpu, [new(2, 2, 2)], iterations: 0));
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void LayerBenchmarkTimesBaseAndEveryAdapter(DType baseDType)
    {
        LayerBenchmarkOptions options = Tiny with { BaseDType = baseDType };

        LayerBenchmarkReport report = LayerBenchmark.Run(Device.Cpu, options);

        Assert.Equal(["base", .. AdapterMethods.All.Select(m => m.Name)], report.Results.Select(r => r.Method));
        Assert.Same(options, report.Options);
        LayerFlops flops = options.Flops;
        foreach (LayerResult r in report.Results)
        {
            AssertTiming(r.Timing, options.Iterations);
            Assert.True(double.IsFinite(r.OverheadPercent), $"{r.Method}: overhead {r.OverheadPercent}");
            Assert.True(double.IsFinite(r.Gflops) && r.Gflops > 0, $"{r.Method}: {r.Gflops} GFLOP/s");
            Assert.Equal(flops.TrainingStepFloorPercent(options.ConfigFor(r.Method)), r.FlopFloorPercent);
            double expectedOverhead = 100 * (r.Timing.MedianMs - report[LayerBenchmarkOptions.Base].Timing.MedianMs) / report[LayerBenchmarkOptions.Base].Timing.MedianMs;
            Assert.Equal(expectedOverhead, r.OverheadPercent, precision: 9);
        }

        Assert.Equal(0, report[LayerBenchmarkOptions.Base].OverheadPercent);
    }

    [Fact]
    public void LayerBenchmarkRejectsBadOptions()
    {
        Assert.Throws<ArgumentException>(() => LayerBenchmark.Run(Device.Cpu, Tiny with { R = 0 }));
        Assert.Throws<ArgumentException>(() => LayerBenchmark.Run(Device.Cpu, Tiny with { BaseDType = DType.F16 }));
        Assert.Throws<ArgumentException>(() => LayerBenchmark.Run(Device.Cpu, Tiny with { Iterations = 0 }));
    }

    [Fact]
    public void MeasureInTurnsTimesEveryBodyInEveryRound()
    {
        int[] calls = new int[3];
        var order = new List<int>();
        Action[] bodies = [.. Enumerable.Range(0, 3).Select(i => (Action)(() => { calls[i]++; order.Add(i); }))];

        TimingSummary[] timings = IterationTimer.MeasureInTurns(bodies, () => { }, warmup: 1, iterations: 4);

        Assert.Equal([5, 5, 5], calls);
        Assert.Equal([0, 1, 2, 0, 1, 2], order.Take(6));
        Assert.All(timings, t => Assert.Equal(4, t.Iterations));
        Assert.Throws<ArgumentException>(() => IterationTimer.MeasureInTurns([], () => { }, 0, 1));
    }

    [Fact]
    public void SessionReportNeedsOneTimingPerMethod()
    {
        using LayerBenchmarkSession session = LayerBenchmarkSession.Create(Device.Cpu, Tiny);
        session.Step("mor");
        var environment = BenchmarkEnvironment.Capture(Device.Cpu);
        var t = new TimingSummary(1, 1, 1, 1);

        Assert.Equal(1 + AdapterMethods.All.Count, LayerBenchmarkSession.Methods.Count);  // the frozen base, then every registered method
        Assert.Throws<ArgumentException>(() => session.CreateReport([t, t], environment));
        Assert.Equal(LayerBenchmarkSession.Methods.Count, session.CreateReport([.. Enumerable.Repeat(t, LayerBenchmarkSession.Methods.Count)], environment).Results.Count);
    }

    [Fact]
    public void TimingSummaryTakesTheMiddleSample()
    {
        Assert.Equal(new TimingSummary(3, 1, 2, 5), TimingSummary.FromSamples([5, 1, 2]));
        Assert.Equal(new TimingSummary(4, 1, 2.5, 9), TimingSummary.FromSamples([9, 3, 1, 2]));
        Assert.Throws<ArgumentException>(() => TimingSummary.FromSamples([]));
        Assert.Throws<ArgumentException>(() => TimingSummary.FromSamples([1, double.NaN]));
    }

    [Fact]
    public void GemmShapeReadsWhatItWrites()
    {
        var shape = new GemmShape(512, 4096, 11008);
        Assert.Equal("512x4096x11008", shape.ToString());
        Assert.Equal(shape, GemmShape.Parse("512X4096x11008"));
        Assert.Equal(2.0 * 512 * 4096 * 11008, shape.Flops);
        Assert.Throws<FormatException>(() => GemmShape.Parse("512x4096"));
        Assert.Throws<FormatException>(() => GemmShape.Parse("0x1x1"));
    }

    private static void AssertTiming(TimingSummary t, int iterations)
    {
        Assert.Equal(iterations, t.Iterations);
        Assert.True(double.IsFinite(t.MaxMs), $"max {t.MaxMs}");
        Assert.True(t.MinMs > 0, $"min {t.MinMs} ms");
        Assert.True(t.MinMs <= t.MedianMs && t.MedianMs <= t.MaxMs, $"{t}");
    }
}
