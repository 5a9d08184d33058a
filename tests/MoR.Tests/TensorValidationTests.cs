using MoR.Interop;

namespace MoR.Tests;

/// <summary>
/// Wrong shapes, dtypes and lengths are ArgumentExceptions thrown in managed code before any native
/// call. Proof of "before": every native entry point clears the thread's last error, so a sentinel
/// message set just before the call must still be there afterwards.
/// </summary>
public sealed unsafe class TensorValidationTests
{
    private const string Sentinel = "unknown backend 77";
    private static readonly Device Cpu = Device.Cpu;

    [Fact]
    public void ANegativeDimensionIsRejected() =>
        AssertRejected(() => Tensor.Empty(Cpu, DType.F32, 2, -1), "shape", "[2, -1]");

    [Fact]
    public void AnOverflowingShapeIsRejected() =>
        AssertRejected(() => Tensor.Zeros(Cpu, DType.F32, long.MaxValue, 3), "shape", "more than");

    [Fact]
    public void FromSpanNeedsTheShapeToHoldTheData() =>
        AssertRejected(() => Tensor.FromSpan<float>(Cpu, [1f, 2f, 3f], 2, 2), "data", "[2, 2]", "4", "3");

    [Fact]
    public void FromSpanRefusesTypesThatAreNotElementTypes() =>
        AssertRejected(() => Tensor.FromSpan<double>(Cpu, [1.0], 1), "data", "Double");

    [Fact]
    public void CopiesNeedTheMatchingElementType()
    {
        using Tensor tensor = Tensor.Empty(Cpu, DType.BF16, 2, 2);

        AssertRejected(() => tensor.CopyFrom<float>(new float[4]), "source", "BF16", "Single");
        AssertRejected(() => tensor.CopyFrom<Half>(new Half[4]), "source", "BF16", "Half");
        AssertRejected(() => tensor.CopyTo<ushort>(new ushort[4]), "destination", "UInt16");
        AssertRejected(() => tensor.ToArray<float>(), null, "BF16", "Single");
    }

    [Fact]
    public void CopiesNeedTheExactLength()
    {
        using Tensor tensor = Tensor.Empty(Cpu, DType.F32, 2, 3);

        AssertRejected(() => tensor.CopyFrom<float>(new float[5]), "source", "[2, 3]", "6", "5");
        AssertRejected(() => tensor.CopyTo<float>(new float[7]), "destination", "6", "7");
        AssertRejected(() => tensor.CopyFromBytes(new byte[23]), "source", "24", "23");
        AssertRejected(() => tensor.CopyToBytes(new byte[25]), "destination", "24", "25");
    }

    [Fact]
    public void ReshapeKeepsTheElementCount()
    {
        using Tensor tensor = Tensor.Empty(Cpu, DType.F32, 2, 3);

        AssertRejected(() => tensor.Reshape(4, 2), "shape", "[2, 3]", "[4, 2]");
        AssertRejected(() => tensor.Reshape(-1, -1), "shape", "[-1, -1]");
        AssertRejected(() => tensor.Reshape(4, -1), "shape", "[4, -1]");
    }

    [Fact]
    public void IntegerConversionsAreRejected()
    {
        using Tensor ints = Tensor.Empty(Cpu, DType.I32, 3);
        using Tensor floats = Tensor.Empty(Cpu, DType.F32, 3);

        AssertRejected(() => ints.To(DType.F32), "dtype", "I32", "F32");
        AssertRejected(() => floats.To(DType.I64), "dtype", "F32", "I64");
    }

    [Fact]
    public void MatMulChecksInnerDimensions()
    {
        using Tensor a = Tensor.Empty(Cpu, DType.F32, 2, 3);
        using Tensor b = Tensor.Empty(Cpu, DType.F32, 4, 5);

        AssertRejected(() => Tensor.MatMul(a, b), "b", "[2, 3]", "[4, 5]", "k = 3", "k = 4");
        AssertRejected(() => Tensor.MatMul(a, b, transposeA: true), "b", "k = 2");
    }

    [Fact]
    public void MatMulChecksRanksAndBatches()
    {
        using Tensor vector = Tensor.Empty(Cpu, DType.F32, 3);
        using Tensor matrix = Tensor.Empty(Cpu, DType.F32, 3, 3);
        using Tensor rank4 = Tensor.Empty(Cpu, DType.F32, 1, 2, 3, 3);
        using Tensor batch2 = Tensor.Empty(Cpu, DType.F32, 2, 3, 3);
        using Tensor batch3 = Tensor.Empty(Cpu, DType.F32, 3, 3, 3);

        AssertRejected(() => Tensor.MatMul(vector, matrix), "a", "[3]");
        AssertRejected(() => Tensor.MatMul(matrix, rank4), "b", "[1, 2, 3, 3]");
        AssertRejected(() => Tensor.MatMul(batch2, batch3), "b", "[2, 3, 3]", "[3, 3, 3]");
    }

    [Fact]
    public void MatMulChecksDTypes()
    {
        using Tensor ints = Tensor.Empty(Cpu, DType.I32, 2, 2);
        using Tensor f32 = Tensor.Empty(Cpu, DType.F32, 2, 2);
        using Tensor f16 = Tensor.Empty(Cpu, DType.F16, 2, 2);
        using Tensor bf16 = Tensor.Empty(Cpu, DType.BF16, 2, 2);

        AssertRejected(() => Tensor.MatMul(ints, f32), "a", "I32");
        AssertRejected(() => Tensor.MatMul(f32, ints), "b", "I32");
        AssertRejected(() => Tensor.MatMul(f16, bf16), "b", "F16", "BF16");
    }

    [Fact]
    public void MatMulChecksTheOutput()
    {
        using Tensor a = Tensor.Empty(Cpu, DType.F32, 2, 3);
        using Tensor b = Tensor.Empty(Cpu, DType.F32, 3, 4);
        using Tensor wrongShape = Tensor.Empty(Cpu, DType.F32, 4, 2);
        using Tensor wrongType = Tensor.Empty(Cpu, DType.BF16, 2, 4);
        using Tensor square = Tensor.Empty(Cpu, DType.F32, 3, 3);
        using Tensor squareView = square.Reshape(3, 3);

        AssertRejected(() => Tensor.MatMul(a, b, wrongShape), "output", "[2, 4]", "[4, 2]");
        AssertRejected(() => Tensor.MatMul(a, b, wrongType), "output", "BF16");
        AssertRejected(() => Tensor.MatMul(square, square, squareView), "output", "share");
    }

    private static void AssertRejected(Action action, string? paramName, params string[] messageParts)
    {
        nint context;
        Assert.NotEqual(0, NativeMethods.mor_context_create((MorBackend)77, 0, &context));
        Assert.Equal(Sentinel, NativeCall.LastError());

        var error = Assert.Throws<ArgumentException>(action);

        Assert.Equal(paramName, error.ParamName);
        Assert.All(messageParts, part => Assert.Contains(part, error.Message));
        Assert.Equal(Sentinel, NativeCall.LastError());
    }

    private static void AssertRejected(Func<object> action, string? paramName, params string[] messageParts) =>
        AssertRejected(() => { _ = action(); }, paramName, messageParts);
}
