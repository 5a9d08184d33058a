using MoR.Tests.Infrastructure;

namespace MoR.Tests;

/// <summary>CUDA tensors against the CPU backend; skipped where no GPU is usable.</summary>
public sealed class TensorCudaTests
{
    public static TheoryData<int, bool, bool> SizesAndTransposes() => TensorMatMulTests.SizesAndTransposes();

    [GpuFact]
    public void EveryDTypeRoundTripsThroughTheGpu()
    {
        Device gpu = Device.Cuda();

        AssertRoundTrip(gpu, Enumerable.Range(0, 100).Select(i => i * 0.5f).ToArray());
        AssertRoundTrip(gpu, Enumerable.Range(0, 100).Select(i => (Half)i).ToArray());
        AssertRoundTrip(gpu, Enumerable.Range(0, 100).Select(i => (BFloat16)(float)i).ToArray());
        AssertRoundTrip(gpu, Enumerable.Range(0, 100).ToArray());
        AssertRoundTrip(gpu, Enumerable.Range(0, 100).Select(i => (long)i << 35).ToArray());
    }

    [GpuFact]
    public void CopiesBetweenCpuAndGpuKeepTheData()
    {
        float[] values = ReferenceGemm.RandomMatrix(3000, seed: 11);
        using Tensor cpu = Tensor.FromSpan<float>(Device.Cpu, values, 30, 100);

        using Tensor gpu = cpu.To(Device.Cuda());
        using Tensor back = gpu.To(Device.Cpu);

        Assert.Same(Device.Cuda(), gpu.Device);
        Assert.Equal(values, back.ToArray<float>());
    }

    [GpuFact]
    public void OperandsOnDifferentDevicesAreRejected()
    {
        using Tensor cpu = Tensor.Zeros(Device.Cpu, DType.F32, 2, 2);
        using Tensor gpu = Tensor.Zeros(Device.Cuda(), DType.F32, 2, 2);

        var error = Assert.Throws<ArgumentException>(() => Tensor.MatMul(cpu, gpu));

        Assert.Equal("b", error.ParamName);
        Assert.Contains("cuda:0", error.Message);
    }

    [GpuTheory]
    [MemberData(nameof(SizesAndTransposes))]
    public void F32MatMulMatchesTheCpu(int size, bool transposeA, bool transposeB)
    {
        Device gpu = Device.Cuda();
        Assert.False(gpu.AllowTf32); // full F32 products: the 1e-5 bound does not hold for TF32
        (int m, int n, int k) = (size, size + 2, size + 1);
        float[] a = ReferenceGemm.RandomMatrix(m * k, seed: size);
        float[] b = ReferenceGemm.RandomMatrix(k * n, seed: size + 1);

        float[] onCpu = MatMul(Device.Cpu, DType.F32, a, b, m, n, k, transposeA, transposeB);
        float[] onGpu = MatMul(gpu, DType.F32, a, b, m, n, k, transposeA, transposeB);

        AssertRelativelyClose(onCpu, onGpu, 1e-5);
    }

    [GpuTheory]
    [MemberData(nameof(SizesAndTransposes))]
    public void BF16MatMulMatchesTheCpu(int size, bool transposeA, bool transposeB)
    {
        (int m, int n, int k) = (size, size + 2, size + 1);
        float[] a = ReferenceGemm.RandomMatrix(m * k, seed: size + 3);
        float[] b = ReferenceGemm.RandomMatrix(k * n, seed: size + 4);

        float[] onCpu = MatMul(Device.Cpu, DType.BF16, a, b, m, n, k, transposeA, transposeB);
        float[] onGpu = MatMul(Device.Cuda(), DType.BF16, a, b, m, n, k, transposeA, transposeB);

        AssertRelativelyClose(onCpu, onGpu, 1e-2);
    }

    [GpuFact]
    public void BatchedF32MatMulMatchesTheCpu()
    {
        float[] a = ReferenceGemm.RandomMatrix(4 * 33 * 17, seed: 21);
        float[] b = ReferenceGemm.RandomMatrix(4 * 17 * 9, seed: 22);
        float[] Run(Device device)
        {
            using Tensor ta = Tensor.FromSpan<float>(device, a, 4, 33, 17);
            using Tensor tb = Tensor.FromSpan<float>(device, b, 4, 9, 17);
            using Tensor c = Tensor.MatMul(ta, tb, transposeB: true);
            return c.ToArray<float>();
        }

        AssertRelativelyClose(Run(Device.Cpu), Run(Device.Cuda()), 1e-5);
    }

    private static float[] MatMul(Device device, DType dtype, float[] a, float[] b, int m, int n, int k, bool transposeA, bool transposeB)
    {
        using Tensor a32 = Tensor.FromSpan<float>(device, a, transposeA ? [k, m] : [m, k]);
        using Tensor b32 = Tensor.FromSpan<float>(device, b, transposeB ? [n, k] : [k, n]);
        using Tensor ta = a32.To(dtype);
        using Tensor tb = b32.To(dtype);
        using Tensor c = Tensor.MatMul(ta, tb, transposeA, transposeB);
        using Tensor c32 = c.To(DType.F32);
        return c32.ToArray<float>();
    }

    // |gpu − cpu| ≤ rel · max|cpu| + tiny: relative to the output's scale, since single elements can cancel.
    private static void AssertRelativelyClose(float[] expected, float[] actual, double relative)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(v => Math.Abs((double)v));
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]);
            Assert.True(error <= relative * scale + 1e-7, $"element {i}: gpu {actual[i]}, cpu {expected[i]} (error {error:E3}, scale {scale:E3})");
        }
    }

    private static void AssertRoundTrip<T>(Device device, T[] values)
        where T : unmanaged
    {
        using Tensor tensor = Tensor.FromSpan<T>(device, values, 10, 10);
        Assert.Equal(values, tensor.ToArray<T>());
    }
}
