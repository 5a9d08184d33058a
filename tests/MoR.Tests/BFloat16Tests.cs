using System.Globalization;

namespace MoR.Tests;

public sealed class BFloat16Tests
{
    [Theory]
    [InlineData(0x3F800000u, 0x3F80)] // 1
    [InlineData(0x3F808000u, 0x3F80)] // 1 + 2^-8: tie, 0x3F80 is even
    [InlineData(0x3F818000u, 0x3F82)] // tie between 0x3F81 and 0x3F82: up to even
    [InlineData(0x3F807FFFu, 0x3F80)] // just below the tie
    [InlineData(0x3F808001u, 0x3F81)] // just above the tie
    [InlineData(0xBF808000u, 0xBF80)] // negative tie, to even
    [InlineData(0xBF818000u, 0xBF82)]
    [InlineData(0x3FFF8000u, 0x4000)] // tie that carries into the exponent
    [InlineData(0x7F7F7FFFu, 0x7F7F)] // largest value that stays finite
    [InlineData(0x7F7F8000u, 0x7F80)] // tie at the top rounds to even, which is Inf
    [InlineData(0x7F7FFFFFu, 0x7F80)] // float.MaxValue overflows to Inf
    [InlineData(0x7F800000u, 0x7F80)] // +Inf
    [InlineData(0xFF800000u, 0xFF80)] // -Inf
    [InlineData(0x00000000u, 0x0000)] // +0
    [InlineData(0x80000000u, 0x8000)] // -0
    [InlineData(0x00008000u, 0x0000)] // float subnormal at a tie with 0: to even (0)
    [InlineData(0x00018000u, 0x0002)] // subnormal tie up to even
    [InlineData(0x00010000u, 0x0001)] // the smallest BF16 subnormal, exact
    [InlineData(0x007FFFFFu, 0x0080)] // largest float subnormal rounds up into the smallest normal
    public void ConversionRoundsToNearestEven(uint singleBits, int expectedBits)
    {
        var value = (BFloat16)BitConverter.UInt32BitsToSingle(singleBits);

        Assert.Equal((ushort)expectedBits, value.RawValue);
    }

    [Theory]
    [InlineData(0x7FC00000u, 0x7FC0)] // quiet NaN
    [InlineData(0xFFC00000u, 0xFFC0)] // negative quiet NaN (float.NaN)
    [InlineData(0x7F800001u, 0x7FC0)] // signalling NaN with only low payload bits: quieted, not turned into Inf
    [InlineData(0xFF800001u, 0xFFC0)]
    [InlineData(0x7FA00000u, 0x7FE0)] // payload's top bits are kept
    [InlineData(0x7FFFFFFFu, 0x7FFF)] // rounding must not carry a NaN into the sign
    public void NaNStaysAQuietNaNWithItsSign(uint singleBits, int expectedBits)
    {
        var value = (BFloat16)BitConverter.UInt32BitsToSingle(singleBits);

        Assert.Equal((ushort)expectedBits, value.RawValue);
        Assert.True(BFloat16.IsNaN(value));
        Assert.True(float.IsNaN(value));
    }

    [Fact]
    public void ConversionMatchesAnIndependentRoundToNearestEven()
    {
        var random = new Random(42);
        for (int i = 0; i < 1_000_000; i++)
        {
            uint bits = (uint)random.NextInt64(0, 1L << 32);
            float value = BitConverter.UInt32BitsToSingle(bits);
            if (float.IsNaN(value))
            {
                continue;
            }

            Assert.Equal(ReferenceRound(value), ((BFloat16)value).RawValue);
        }
    }

    [Fact]
    public void SubnormalsAreMultiplesOfTwoToTheMinus133()
    {
        for (int mantissa = 1; mantissa < 128; mantissa++)
        {
            var positive = BFloat16.FromRawValue((ushort)mantissa);
            var negative = BFloat16.FromRawValue((ushort)(0x8000 | mantissa));

            Assert.True(BFloat16.IsSubnormal(positive));
            Assert.Equal(mantissa * Math.Pow(2, -133), (double)positive);
            Assert.Equal(-mantissa * Math.Pow(2, -133), (double)negative);
            Assert.Equal(positive.RawValue, ((BFloat16)(float)positive).RawValue);
        }

        Assert.Equal(Math.Pow(2, -133), (double)BFloat16.Epsilon);
        Assert.False(BFloat16.IsSubnormal(BFloat16.Zero));
        Assert.False(BFloat16.IsSubnormal(BFloat16.FromRawValue(0x0080)));
    }

    [Fact]
    public void EveryNonNaNValueRoundTripsExactlyThroughFloat()
    {
        for (int bits = 0; bits <= ushort.MaxValue; bits++)
        {
            var value = BFloat16.FromRawValue((ushort)bits);
            var back = (BFloat16)(float)value;
            if (BFloat16.IsNaN(value))
            {
                Assert.True(BFloat16.IsNaN(back));
            }
            else
            {
                Assert.Equal(value.RawValue, back.RawValue);
            }
        }
    }

    [Fact]
    public void InfinitiesAndLimits()
    {
        Assert.True(BFloat16.IsInfinity(BFloat16.PositiveInfinity));
        Assert.True(BFloat16.IsInfinity(BFloat16.NegativeInfinity));
        Assert.Equal(float.PositiveInfinity, (float)BFloat16.PositiveInfinity);
        Assert.Equal(float.NegativeInfinity, (float)BFloat16.NegativeInfinity);
        Assert.True(BFloat16.IsFinite(BFloat16.MaxValue));
        Assert.False(BFloat16.IsFinite(BFloat16.NaN));
        Assert.Equal(3.3895313892515355E+38, (double)BFloat16.MaxValue);
        Assert.Equal(-(double)BFloat16.MaxValue, (double)BFloat16.MinValue);
        Assert.Equal(1f, (float)BFloat16.One);
        Assert.True(BFloat16.IsNegative((BFloat16)(-0f)));
    }

    [Fact]
    public void EqualityAndOrderFollowFloat()
    {
        BFloat16 nan = BFloat16.NaN;
        BFloat16 otherNaN = BFloat16.FromRawValue(0x7FC1);
        var zero = (BFloat16)0f;
        var negativeZero = (BFloat16)(-0f);
        var one = (BFloat16)1f;
        var two = (BFloat16)2f;

        Assert.False(nan == otherNaN || nan == BFloat16.NaN);
        Assert.True(nan != BFloat16.NaN);
        Assert.True(nan.Equals(otherNaN));
        Assert.True(zero == negativeZero);
        Assert.True(zero.Equals(negativeZero));
        Assert.Equal(zero.GetHashCode(), negativeZero.GetHashCode());
        Assert.True(one < two && two > one && one <= (BFloat16)1f && two >= one);
        Assert.False(nan < one || nan > one);

        BFloat16[] sorted = [two, nan, negativeZero, one, BFloat16.NegativeInfinity];
        Array.Sort(sorted);
        Assert.Equal([nan, BFloat16.NegativeInfinity, negativeZero, one, two], sorted);
        Assert.Equal(1, one.CompareTo(null));
        Assert.Throws<ArgumentException>(() => one.CompareTo((object)1f));
    }

    [Fact]
    public void FormatsAsTheEquivalentFloat()
    {
        var value = (BFloat16)1.5f;

        Assert.Equal("1.5", value.ToString(null, CultureInfo.InvariantCulture));
        Assert.Equal(1.5f.ToString(CultureInfo.CurrentCulture), value.ToString());
        Assert.Equal("1.50", value.ToString("F2", CultureInfo.InvariantCulture));
    }

    [Fact]
    public void WideningIsExactAndImplicit()
    {
        var value = (BFloat16)0.1f;
        float single = value;
        double wide = value;

        Assert.Equal(BitConverter.UInt32BitsToSingle((uint)value.RawValue << 16), single);
        Assert.Equal((double)single, wide);
    }

    // Round to nearest, ties to even, by comparing distances in double to the two BF16 neighbours; as in
    // IEEE, rounding happens as if the exponent were unbounded (so the neighbour above MaxValue is 2^128)
    // and a result past MaxValue becomes Inf.
    private static ushort ReferenceRound(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        uint sign = bits & 0x8000_0000u;
        uint magnitude = bits & 0x7FFF_FFFFu;
        if (magnitude >= 0x7F80_0000u)
        {
            return (ushort)(bits >> 16); // infinity
        }

        uint below = magnitude & 0xFFFF_0000u;
        uint above = below + 0x1_0000u;
        double x = BitConverter.UInt32BitsToSingle(magnitude);
        double low = BitConverter.UInt32BitsToSingle(below);
        double high = above == 0x7F80_0000u ? Math.Pow(2, 128) : BitConverter.UInt32BitsToSingle(above);
        uint chosen = (x - low) < (high - x) ? below
            : (x - low) > (high - x) ? above
            : ((below >> 16) & 1) == 0 ? below : above;
        return (ushort)((sign | chosen) >> 16);
    }
}
