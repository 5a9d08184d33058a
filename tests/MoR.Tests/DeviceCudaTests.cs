using MoR.Tests.Infrastructure;

namespace MoR.Tests;

/// <summary>CUDA device properties; skipped where no GPU is usable.</summary>
public sealed class DeviceCudaTests
{
    [GpuFact]
    public void TheFirstGpuOpensAndDescribesItself()
    {
        Device gpu = Device.Cuda();

        Assert.Same(gpu, Device.Cuda(0));
        Assert.Same(gpu, Device.Parse("cuda:0"));
        Assert.Equal(DeviceKind.Cuda, gpu.Kind);
        Assert.Equal("cuda:0", gpu.ToString());
        Assert.False(string.IsNullOrWhiteSpace(gpu.Name));
        Assert.True(gpu.TotalMemoryBytes > 0);
        Assert.NotNull(gpu.ComputeCapability);
        gpu.Synchronize();
        Assert.True(gpu.AllocatorStats.LiveBytes >= 0);
    }
}
