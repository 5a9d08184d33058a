using MoR.Interop;

namespace MoR.Tests;

public sealed class DeviceTests
{
    [Fact]
    public void TheCpuIsAlwaysThere()
    {
        Device cpu = Device.Cpu;

        Assert.Equal(DeviceKind.Cpu, cpu.Kind);
        Assert.Equal(0, cpu.Index);
        Assert.Equal("cpu", cpu.Name);
        Assert.Equal("cpu", cpu.ToString());
        Assert.Null(cpu.ComputeCapability);
        cpu.Synchronize();
        AllocatorStats stats = cpu.AllocatorStats;
        Assert.True(stats.LiveBytes >= 0 && stats.ReservedBytes >= stats.LiveBytes, stats.ToString());
    }

    [Fact]
    public void IsCudaAvailableNeverThrowsAndAgreesWithTheDeviceCount()
    {
        bool available = Device.IsCudaAvailable;

        Assert.Equal(available, Device.CudaDeviceCount > 0);
        Assert.Equal(available, Device.CudaUnavailableReason is null);
    }

    [Fact]
    public void WithoutCudaOpeningAGpuThrowsTheNativeReasonAndTheCpuKeepsWorking()
    {
        if (Device.IsCudaAvailable)
        {
            return; // covered by DeviceCudaTests on GPU machines
        }

        var error = Assert.Throws<DeviceUnavailableException>(() => Device.Cuda());

        Assert.Equal(NativeStatus.NoDevice, error.Status);
        Assert.False(string.IsNullOrWhiteSpace(error.NativeMessage));
        Assert.False(string.IsNullOrWhiteSpace(Device.CudaUnavailableReason));
        using Tensor tensor = Tensor.FromSpan(Device.Cpu, [1f, 2f, 3f]);
        Assert.Equal([1f, 2f, 3f], tensor.ToArray<float>());
    }

    [Fact]
    public void AGpuIndexPastTheLastDeviceIsUnavailable()
    {
        var error = Assert.Throws<DeviceUnavailableException>(() => Device.Cuda(Device.CudaDeviceCount + 3));

        Assert.False(string.IsNullOrWhiteSpace(error.NativeMessage));
    }

    [Fact]
    public void ANegativeGpuIndexIsAnArgumentError() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Device.Cuda(-1));

    [Theory]
    [InlineData("cpu")]
    [InlineData(" CPU ")]
    public void ParseNamesTheCpu(string text) => Assert.Same(Device.Cpu, Device.Parse(text));

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:x")]
    [InlineData("")]
    public void ParseRejectsWhatIsNotADevice(string text) => Assert.Throws<FormatException>(() => Device.Parse(text));

    [Fact]
    public void TheCpuContextIsCreatedOnceForAllThreads()
    {
        var contexts = new ContextHandle[16];
        Parallel.For(0, contexts.Length, i => contexts[i] = Device.Cpu.Context);

        Assert.All(contexts, context => Assert.Same(contexts[0], context));
    }
}
