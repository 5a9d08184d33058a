using MoR.IO;

namespace MoR.Tests.IO;

/// <summary>Device tensors through a safetensors file and back, on the CPU backend (through the native library).</summary>
public sealed class SafeTensorsDeviceTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void DeviceTensorsRoundTrip()
    {
        float[] weights = [0.5f, -1f, 2f, 3.25f, -0f, 7f];
        long[] ids = [1, 2, 3];
        string path = _dir.File("device.safetensors");
        using (Tensor w = Tensor.FromSpan<float>(Device.Cpu, weights, 2, 3))
        using (Tensor i = Tensor.FromSpan<long>(Device.Cpu, ids, 3))
        {
            var writer = new SafeTensorsWriter();
            writer.Add("w", w);
            writer.Add("ids", i);
            writer.Save(path);
        }

        using CheckpointReader checkpoint = CheckpointReader.Open(path);
        Assert.Equal(SafeTensorDType.F32, checkpoint.GetInfo("w").DType);
        using Tensor back = checkpoint.ReadTensor("w", Device.Cpu);
        Assert.Equal(DType.F32, back.DType);
        Assert.Equal([2L, 3L], back.Shape.ToArray());
        Assert.Equal(weights, back.ToArray<float>());
        using Tensor backIds = checkpoint.ReadTensor("ids", Device.Cpu);
        Assert.Equal(ids, backIds.ToArray<long>());
    }

    [Fact]
    public void NonComputeDTypeIsRefusedWithTensorName()
    {
        var writer = new SafeTensorsWriter();
        writer.Add("w64", SafeTensorDType.F64, [1], new byte[8]);
        string path = _dir.File("f64.safetensors");
        writer.Save(path);
        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        var e = Assert.Throws<NotSupportedException>(() => reader.ReadTensor("w64", Device.Cpu));
        Assert.Contains("'w64'", e.Message, StringComparison.Ordinal);
        Assert.Contains("unsupported dtype F64", e.Message, StringComparison.Ordinal);
    }
}
