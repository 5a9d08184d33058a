using System.Runtime.InteropServices;
using MoR.IO;

namespace MoR.Tests.IO;

/// <summary><see cref="FiniteScan"/>: the first NaN or ±Inf of F32, BF16 and F16 data, wherever it sits relative to the vector width, and nothing else.</summary>
public sealed class FiniteScanTests
{
    public static TheoryData<SafeTensorDType, int> Positions()
    {
        var data = new TheoryData<SafeTensorDType, int>();
        foreach (SafeTensorDType dtype in (SafeTensorDType[])[SafeTensorDType.F32, SafeTensorDType.BF16, SafeTensorDType.F16])
        {
            foreach (int at in (int[])[0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 65, 127, 200, 999])
            {
                data.Add(dtype, at);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Positions))]
    public void Finds_the_first_non_finite_element(SafeTensorDType dtype, int at)
    {
        foreach (float bad in (float[])[float.NaN, float.PositiveInfinity, float.NegativeInfinity])
        {
            float[] values = Finite(1000);
            values[at] = bad;
            if (at + 5 < values.Length)
            {
                values[at + 5] = float.NaN;  // a later one does not hide the first
            }

            byte[] bytes = Encode(values, dtype);
            Assert.Equal(at, FiniteScan.FirstNonFinite(bytes, dtype));
            Assert.Equal(float.IsNaN(bad) ? "NaN" : bad > 0 ? "+Infinity" : "-Infinity", FiniteScan.Describe(bytes, dtype, at));
            unsafe
            {
                fixed (byte* p = bytes)
                {
                    Assert.Equal(at, FiniteScan.FirstNonFinite(p, bytes.Length, dtype));
                }
            }
        }
    }

    [Theory]
    [InlineData(SafeTensorDType.F32)]
    [InlineData(SafeTensorDType.BF16)]
    [InlineData(SafeTensorDType.F16)]
    public void Extreme_finite_values_pass(SafeTensorDType dtype)
    {
        float max = dtype switch { SafeTensorDType.F32 => float.MaxValue, SafeTensorDType.BF16 => (float)BFloat16.MaxValue, _ => (float)Half.MaxValue };
        float[] values = [.. Finite(333), max, -max, 0f, -0f, float.Epsilon, 1e-40f, -1e-40f];
        Assert.Equal(-1, FiniteScan.FirstNonFinite(Encode(values, dtype), dtype));
        Assert.Equal(-1, FiniteScan.FirstNonFinite([], dtype));
    }

    [Fact]
    public void Integer_dtypes_are_not_scanned()
    {
        byte[] allOnes = [.. Enumerable.Repeat((byte)0xFF, 64)];  // would be NaN as floats
        Assert.Equal(-1, FiniteScan.FirstNonFinite(allOnes, SafeTensorDType.I32));
        Assert.Equal(-1, FiniteScan.FirstNonFinite(allOnes, SafeTensorDType.U8));
        Assert.False(FiniteScan.Applies(SafeTensorDType.I64));
    }

    private static float[] Finite(int n) => [.. Enumerable.Range(0, n).Select(i => (i - (n / 2)) * 0.37f)];

    private static byte[] Encode(float[] values, SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.F32 => MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
        SafeTensorDType.BF16 => MemoryMarshal.AsBytes(values.Select(v => (BFloat16)v).ToArray().AsSpan()).ToArray(),
        _ => MemoryMarshal.AsBytes(values.Select(v => (Half)v).ToArray().AsSpan()).ToArray(),
    };
}
