using MoR.Interop;

namespace MoR.Tests;

/// <summary>Tensor creation, host copies, fills, views and disposal on the CPU.</summary>
public sealed class TensorTests
{
    private static readonly Device Cpu = Device.Cpu;

    [Fact]
    public void F32RoundTrips() => AssertRoundTrip(Enumerable.Range(0, 24).Select(i => i * 0.37f - 3f).ToArray(), DType.F32);

    [Fact]
    public void F16RoundTrips() => AssertRoundTrip(Enumerable.Range(0, 24).Select(i => (Half)(i * 0.37f - 3f)).ToArray(), DType.F16);

    [Fact]
    public void BF16RoundTrips() => AssertRoundTrip(Enumerable.Range(0, 24).Select(i => (BFloat16)(i * 0.37f - 3f)).ToArray(), DType.BF16);

    [Fact]
    public void I32RoundTrips() => AssertRoundTrip(Enumerable.Range(0, 24).Select(i => i * 1_000_003 - 7).ToArray(), DType.I32);

    [Fact]
    public void I64RoundTrips() => AssertRoundTrip(Enumerable.Range(0, 24).Select(i => (long)i << 40 | 5L).ToArray(), DType.I64);

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    [InlineData(DType.I32)]
    [InlineData(DType.I64)]
    public void RawBytesRoundTrip(DType dtype)
    {
        byte[] bytes = Enumerable.Range(0, 6 * dtype.ElementSize).Select(i => (byte)(i * 7 % 61)).ToArray();
        using Tensor tensor = Tensor.Empty(Cpu, dtype, 2, 3);

        tensor.CopyFromBytes(bytes);
        var back = new byte[bytes.Length];
        tensor.CopyToBytes(back);

        Assert.Equal(bytes, back);
    }

    [Fact]
    public void ShapeNumelAndDescription()
    {
        using Tensor tensor = Tensor.Empty(Cpu, DType.BF16, 2, 3, 4);

        Assert.Equal([2L, 3L, 4L], tensor.Shape.ToArray());
        Assert.Equal(3, tensor.Rank);
        Assert.Equal(24, tensor.Numel);
        Assert.Same(Cpu, tensor.Device);
        Assert.Equal("Tensor(BF16, [2, 3, 4], cpu)", tensor.ToString());
    }

    [Fact]
    public void AScalarHasOneElementAndEmptyTensorsWork()
    {
        using Tensor scalar = Tensor.Zeros(Cpu, DType.F32);
        using Tensor empty = Tensor.Zeros(Cpu, DType.F32, 0, 5);

        Assert.Equal(1, scalar.Numel);
        Assert.Equal([0f], scalar.ToArray<float>());
        Assert.Equal(0, empty.Numel);
        Assert.Empty(empty.ToArray<float>());
    }

    [Fact]
    public void ZerosAreZeroEvenInReusedMemory()
    {
        using (Tensor dirty = Tensor.Empty(Cpu, DType.F32, 4096))
        {
            dirty.Fill(123);
        }

        using Tensor zeros = Tensor.Zeros(Cpu, DType.F32, 4096);
        Assert.All(zeros.ToArray<float>(), value => Assert.Equal(0f, value));
    }

    [Fact]
    public void FillConvertsToEveryDType()
    {
        using Tensor f32 = Tensor.Empty(Cpu, DType.F32, 3);
        using Tensor f16 = Tensor.Empty(Cpu, DType.F16, 3);
        using Tensor bf16 = Tensor.Empty(Cpu, DType.BF16, 3);
        using Tensor i32 = Tensor.Empty(Cpu, DType.I32, 3);
        using Tensor i64 = Tensor.Empty(Cpu, DType.I64, 3);

        f32.Fill(0.1);
        f16.Fill(0.1);
        bf16.Fill(0.1);
        i32.Fill(-7);
        i64.Fill(1L << 40);

        Assert.All(f32.ToArray<float>(), v => Assert.Equal(0.1f, v));
        Assert.All(f16.ToArray<Half>(), v => Assert.Equal((Half)0.1f, v));
        Assert.All(bf16.ToArray<BFloat16>(), v => Assert.Equal((BFloat16)0.1f, v));
        Assert.All(i32.ToArray<int>(), v => Assert.Equal(-7, v));
        Assert.All(i64.ToArray<long>(), v => Assert.Equal(1L << 40, v));
    }

    [Fact]
    public void FromSpanWithoutAShapeIsOneDimensional()
    {
        using Tensor tensor = Tensor.FromSpan<long>(Cpu, [1, 2, 3]);

        Assert.Equal(DType.I64, tensor.DType);
        Assert.Equal([3L], tensor.Shape.ToArray());
    }

    [Fact]
    public void CloneCopiesTheData()
    {
        using Tensor original = Tensor.FromSpan(Cpu, [1f, 2f, 3f, 4f], 2, 2);
        using Tensor copy = original.Clone();
        original.Fill(0);

        Assert.Equal([1f, 2f, 3f, 4f], copy.ToArray<float>());
        Assert.Equal([2L, 2L], copy.Shape.ToArray());
    }

    [Fact]
    public void ToTheSameDeviceCopies()
    {
        using Tensor original = Tensor.FromSpan(Cpu, [1, 2, 3]);
        using Tensor copy = original.To(Cpu);
        original.Fill(9);

        Assert.Equal([1, 2, 3], copy.ToArray<int>());
    }

    [Fact]
    public void ReshapeIsAViewOfTheSameData()
    {
        using Tensor matrix = Tensor.FromSpan(Cpu, Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), 3, 4);
        using Tensor view = matrix.Reshape(2, -1, 2);

        Assert.Equal([2L, 3L, 2L], view.Shape.ToArray());
        view.Fill(5);
        Assert.All(matrix.ToArray<float>(), v => Assert.Equal(5f, v));
    }

    [Fact]
    public void AViewOutlivesTheTensorItCameFrom()
    {
        Tensor matrix = Tensor.FromSpan(Cpu, [1f, 2f, 3f, 4f], 2, 2);
        using Tensor flat = matrix.Reshape(4);
        matrix.Dispose();

        Assert.True(matrix.IsDisposed);
        Assert.Equal([1f, 2f, 3f, 4f], flat.ToArray<float>());
    }

    [Fact]
    public void ADisposedTensorRefusesUse()
    {
        Tensor tensor = Tensor.Zeros(Cpu, DType.F32, 2);
        tensor.Dispose();
        tensor.Dispose(); // idempotent

        Assert.Throws<ObjectDisposedException>(() => tensor.ToArray<float>());
        Assert.Throws<ObjectDisposedException>(() => tensor.Fill(1));
        Assert.Throws<ObjectDisposedException>(() => tensor.Reshape(2));
        Assert.Throws<ObjectDisposedException>(() => tensor.Handle);
        Assert.Contains("disposed", tensor.ToString());
    }

    [Fact]
    public void TheHandleIsTheNativeBufferWithTheTensorsSizeAndType()
    {
        using Tensor tensor = Tensor.Empty(Cpu, DType.BF16, 5, 7);

        Assert.Equal(35, NativeBufferNumel(tensor.Handle));
    }

    private static unsafe long NativeBufferNumel(BufferHandle buffer)
    {
        long numel;
        NativeCall.Check(NativeMethods.mor_buffer_numel(buffer, &numel), nameof(NativeMethods.mor_buffer_numel));
        return numel;
    }

    private static void AssertRoundTrip<T>(T[] values, DType dtype)
        where T : unmanaged
    {
        using Tensor tensor = Tensor.FromSpan<T>(Cpu, values, 4, 6);
        Assert.Equal(dtype, tensor.DType);
        Assert.Equal(values, tensor.ToArray<T>());

        using Tensor other = Tensor.Empty(Cpu, dtype, 24);
        other.CopyFrom<T>(values);
        var back = new T[24];
        other.CopyTo<T>(back);
        Assert.Equal(values, back);
    }
}
