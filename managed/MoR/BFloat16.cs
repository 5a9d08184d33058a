using System.Globalization;
using System.Runtime.InteropServices;

namespace MoR;

/// <summary>
/// A bfloat16 value: the sign, the 8 exponent bits and the top 7 mantissa bits of an IEEE single.
/// Conversion from <see cref="float"/> rounds to nearest even and keeps NaN a (quiet) NaN, bit for bit
/// like the native library (<c>native/src/common/float16.h</c>), PyTorch and <c>cuda_bf16.h</c>.
/// </summary>
/// <remarks>
/// Conversions to <see cref="float"/> and <see cref="double"/> are exact and implicit; from
/// <see cref="float"/> they round and are explicit. Equality and ordering follow <see cref="float"/>:
/// <c>==</c> is IEEE (NaN is unequal to itself), <see cref="Equals(BFloat16)"/> treats NaN as equal to NaN.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
public readonly struct BFloat16 : IEquatable<BFloat16>, IComparable<BFloat16>, IComparable, IFormattable
{
    private const ushort SignMask = 0x8000;
    private const ushort MagnitudeMask = 0x7FFF;
    private const ushort ExponentMask = 0x7F80;
    private const ushort MantissaMask = 0x007F;

    private readonly ushort _bits;

    private BFloat16(ushort bits) => _bits = bits;

    /// <summary>Positive zero.</summary>
    public static BFloat16 Zero => new(0x0000);

    /// <summary>One.</summary>
    public static BFloat16 One => new(0x3F80);

    /// <summary>A quiet NaN (the one the conversion from <see cref="float.NaN"/> produces).</summary>
    public static BFloat16 NaN => new(0xFFC0);

    /// <summary>Positive infinity.</summary>
    public static BFloat16 PositiveInfinity => new(0x7F80);

    /// <summary>Negative infinity.</summary>
    public static BFloat16 NegativeInfinity => new(0xFF80);

    /// <summary>The largest finite value, about 3.39e38.</summary>
    public static BFloat16 MaxValue => new(0x7F7F);

    /// <summary>The most negative finite value, about -3.39e38.</summary>
    public static BFloat16 MinValue => new(0xFF7F);

    /// <summary>The smallest positive value (a subnormal, 2^-133).</summary>
    public static BFloat16 Epsilon => new(0x0001);

    /// <summary>The raw 16 bits.</summary>
    public ushort RawValue => _bits;

    /// <summary>Reinterprets 16 bits as a bfloat16.</summary>
    /// <param name="bits">Sign, exponent and mantissa, as stored in memory.</param>
    public static BFloat16 FromRawValue(ushort bits) => new(bits);

    /// <summary>Whether <paramref name="value"/> is a NaN.</summary>
    public static bool IsNaN(BFloat16 value) => (value._bits & MagnitudeMask) > ExponentMask;

    /// <summary>Whether <paramref name="value"/> is positive or negative infinity.</summary>
    public static bool IsInfinity(BFloat16 value) => (value._bits & MagnitudeMask) == ExponentMask;

    /// <summary>Whether <paramref name="value"/> is neither infinite nor NaN.</summary>
    public static bool IsFinite(BFloat16 value) => (value._bits & ExponentMask) != ExponentMask;

    /// <summary>Whether <paramref name="value"/> is subnormal (zero exponent, non-zero mantissa).</summary>
    public static bool IsSubnormal(BFloat16 value) =>
        (value._bits & ExponentMask) == 0 && (value._bits & MantissaMask) != 0;

    /// <summary>Whether the sign bit is set (true for -0 and negative NaNs too).</summary>
    public static bool IsNegative(BFloat16 value) => (value._bits & SignMask) != 0;

    /// <summary>Rounds a single to the nearest bfloat16, ties to even; NaN becomes a quiet NaN.</summary>
    public static explicit operator BFloat16(float value) => new(RoundFromSingleBits(BitConverter.SingleToUInt32Bits(value)));

    /// <summary>Exact widening to single precision.</summary>
    public static implicit operator float(BFloat16 value) => BitConverter.UInt32BitsToSingle((uint)value._bits << 16);

    /// <summary>Exact widening to double precision.</summary>
    public static implicit operator double(BFloat16 value) => (float)value;

    /// <summary>IEEE equality: false when either is NaN; +0 equals -0.</summary>
    public static bool operator ==(BFloat16 left, BFloat16 right) => (float)left == (float)right;

    /// <summary>IEEE inequality: true when either is NaN.</summary>
    public static bool operator !=(BFloat16 left, BFloat16 right) => (float)left != (float)right;

    /// <summary>IEEE less-than (false when either is NaN).</summary>
    public static bool operator <(BFloat16 left, BFloat16 right) => (float)left < (float)right;

    /// <summary>IEEE greater-than (false when either is NaN).</summary>
    public static bool operator >(BFloat16 left, BFloat16 right) => (float)left > (float)right;

    /// <summary>IEEE less-or-equal (false when either is NaN).</summary>
    public static bool operator <=(BFloat16 left, BFloat16 right) => (float)left <= (float)right;

    /// <summary>IEEE greater-or-equal (false when either is NaN).</summary>
    public static bool operator >=(BFloat16 left, BFloat16 right) => (float)left >= (float)right;

    /// <summary>Same as <see cref="float.Equals(float)"/> on the widened values: NaN equals NaN, +0 equals -0.</summary>
    public bool Equals(BFloat16 other) => ((float)this).Equals((float)other);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is BFloat16 other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => ((float)this).GetHashCode();

    /// <summary>Orders like <see cref="float.CompareTo(float)"/>: NaN first, then by value.</summary>
    public int CompareTo(BFloat16 other) => ((float)this).CompareTo((float)other);

    /// <inheritdoc/>
    public int CompareTo(object? obj) => obj switch
    {
        null => 1,
        BFloat16 other => CompareTo(other),
        _ => throw new ArgumentException($"Object must be of type {nameof(BFloat16)}.", nameof(obj)),
    };

    /// <summary>The value formatted as the equivalent <see cref="float"/> (shortest round-trip form).</summary>
    public override string ToString() => ((float)this).ToString(CultureInfo.CurrentCulture);

    /// <inheritdoc/>
    public string ToString(string? format, IFormatProvider? formatProvider) => ((float)this).ToString(format, formatProvider);

    // f32_to_bf16 in native/src/common/float16.h: adding 0x7FFF plus the lowest kept bit rounds to
    // nearest with ties to even; a carry out of the mantissa correctly bumps the exponent (up to Inf).
    internal static ushort RoundFromSingleBits(uint bits)
    {
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u)
        {
            return (ushort)((bits >> 16) | 0x40u); // quiet NaN, sign and payload top kept
        }

        bits += 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)(bits >> 16);
    }
}
