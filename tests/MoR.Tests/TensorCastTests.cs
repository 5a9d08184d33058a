namespace MoR.Tests;

/// <summary>
/// Tensor.To(DType) against the managed conversions: BFloat16 must agree with the native library bit for
/// bit (rounding, NaN, overflow, subnormals), F16 with System.Half.
/// </summary>
public sealed class TensorCastTests
{
    private static readonly Device Cpu = Device.Cpu;

    [Fact]
    public void NativeBF16ConversionMatchesBFloat16BitForBit()
    {
        float[] values = InterestingFloats();
        using Tensor source = Tensor.FromSpan<float>(Cpu, values);
        using Tensor converted = source.To(DType.BF16);

        BFloat16[] native = converted.ToArray<BFloat16>();

        for (int i = 0; i < values.Length; i++)
        {
            ushort expected = ((BFloat16)values[i]).RawValue;
            if (native[i].RawValue != expected)
            {
                Assert.Fail($"0x{BitConverter.SingleToUInt32Bits(values[i]):X8}: native 0x{native[i].RawValue:X4}, managed 0x{expected:X4}");
            }
        }
    }

    [Fact]
    public void NativeF16ConversionMatchesSystemHalf()
    {
        float[] values = InterestingFloats();
        using Tensor source = Tensor.FromSpan<float>(Cpu, values);
        using Tensor converted = source.To(DType.F16);

        Half[] native = converted.ToArray<Half>();

        for (int i = 0; i < values.Length; i++)
        {
            Half expected = (Half)values[i];
            bool same = Half.IsNaN(expected)
                ? Half.IsNaN(native[i])
                : BitConverter.HalfToUInt16Bits(native[i]) == BitConverter.HalfToUInt16Bits(expected);
            if (!same)
            {
                Assert.Fail($"0x{BitConverter.SingleToUInt32Bits(values[i]):X8}: native 0x{BitConverter.HalfToUInt16Bits(native[i]):X4}, System.Half 0x{BitConverter.HalfToUInt16Bits(expected):X4}");
            }
        }
    }

    [Fact]
    public void WideningIsExact()
    {
        BFloat16[] bf16 = Enumerable.Range(0, 1 << 16).Select(bits => BFloat16.FromRawValue((ushort)bits)).ToArray();
        Half[] f16 = Enumerable.Range(0, 1 << 16).Select(bits => BitConverter.UInt16BitsToHalf((ushort)bits)).ToArray();
        using Tensor bf16Tensor = Tensor.FromSpan<BFloat16>(Cpu, bf16);
        using Tensor f16Tensor = Tensor.FromSpan<Half>(Cpu, f16);

        using Tensor fromBf16 = bf16Tensor.To(DType.F32);
        using Tensor fromF16 = f16Tensor.To(DType.F32);

        float[] wideBf16 = fromBf16.ToArray<float>();
        float[] wideF16 = fromF16.ToArray<float>();
        for (int i = 0; i < 1 << 16; i++)
        {
            AssertSameFloat((float)bf16[i], wideBf16[i], $"BF16 0x{i:X4}");
            AssertSameFloat((float)f16[i], wideF16[i], $"F16 0x{i:X4}");
        }
    }

    [Fact]
    public void BF16ToF16RoundsThroughTheValue()
    {
        BFloat16[] values = [(BFloat16)1.5f, (BFloat16)(-0.333f), (BFloat16)70000f, (BFloat16)1e-6f];
        using Tensor source = Tensor.FromSpan<BFloat16>(Cpu, values);
        using Tensor converted = source.To(DType.F16);

        Assert.Equal(values.Select(v => (Half)(float)v).ToArray(), converted.ToArray<Half>());
    }

    [Fact]
    public void ConvertingToTheSameDTypeCopies()
    {
        using Tensor source = Tensor.FromSpan<Half>(Cpu, [(Half)1, (Half)2], 2, 1);
        using Tensor copy = source.To(DType.F16);
        source.Fill(0);

        Assert.Equal([(Half)1, (Half)2], copy.ToArray<Half>());
        Assert.Equal([2L, 1L], copy.Shape.ToArray());
    }

    private static void AssertSameFloat(float expected, float actual, string what)
    {
        bool same = float.IsNaN(expected) ? float.IsNaN(actual) : BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual);
        Assert.True(same, $"{what}: expected {expected}, got {actual}");
    }

    // Every exponent with edge mantissas (ties, just below and above, all-ones), signalling and quiet
    // NaNs of both signs, infinities, zeros, subnormals, plus random bit patterns.
    private static float[] InterestingFloats()
    {
        var bits = new List<uint>();
        uint[] mantissas = [0x000000, 0x000001, 0x007FFF, 0x008000, 0x008001, 0x00FFFF, 0x010000, 0x018000, 0x400000, 0x7F8000, 0x7FFFFF, 0x001000, 0x000FFF, 0x002000, 0x003000];
        for (uint sign = 0; sign < 2; sign++)
        {
            for (uint exponent = 0; exponent < 256; exponent++)
            {
                foreach (uint mantissa in mantissas)
                {
                    bits.Add(sign << 31 | exponent << 23 | mantissa);
                }
            }
        }

        var random = new Random(1234);
        for (int i = 0; i < 1 << 18; i++)
        {
            bits.Add((uint)random.NextInt64(0, 1L << 32));
        }

        return bits.Select(BitConverter.UInt32BitsToSingle).ToArray();
    }
}
