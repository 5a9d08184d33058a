using MoR.Benchmarks;

namespace MoR.Tests.Benchmarks;

/// <summary>The runners free every tensor and adapter they create (they allocate hundreds of MB at real sizes).</summary>
[Collection(NativeLeakCollection.Name)]
public sealed class BenchmarkLeakTests
{
    [Fact]
    public void RunnersReturnEveryBufferTheyAllocate()
    {
        NativeHandleStats before = NativeDiagnostics.HandleStats;

        GemmBenchmark.Run(Device.Cpu, [new(3, 4, 5)], iterations: 1);
        LayerBenchmark.Run(Device.Cpu, BenchmarkRunnerTests.Tiny);

        Assert.Equal(before.Buffers, NativeDiagnostics.HandleStats.Buffers);
    }
}
