using System.Numerics;
using System.Runtime.InteropServices;

namespace MoR.IO;

/// <summary>
/// Finds the first NaN or infinity in raw F32, F16 or BF16 data by its bit pattern (every exponent bit set),
/// a vectorised pass over the bytes that loaders run before copying weights: cheaper than the copy itself,
/// and it turns a corrupt or diverged checkpoint into an error that names the tensor instead of NaN output.
/// </summary>
public static class FiniteScan
{
    /// <summary>Whether <paramref name="dtype"/> is a float type this scan understands (F32, F16, BF16).</summary>
    /// <param name="dtype">The dtype.</param>
    /// <returns>True for F32, F16 and BF16.</returns>
    public static bool Applies(SafeTensorDType dtype) => dtype is SafeTensorDType.F32 or SafeTensorDType.F16 or SafeTensorDType.BF16;

    /// <summary>The index of the first non-finite element of <paramref name="data"/>, or -1 when all are finite (or the dtype is not F32/F16/BF16).</summary>
    /// <param name="data">Raw little-endian elements.</param>
    /// <param name="dtype">Their type.</param>
    /// <returns>An element index, or -1.</returns>
    public static long FirstNonFinite(ReadOnlySpan<byte> data, SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.F32 => First(MemoryMarshal.Cast<byte, uint>(data), 0x7F80_0000u),
        SafeTensorDType.BF16 => First(MemoryMarshal.Cast<byte, ushort>(data), (ushort)0x7F80),
        SafeTensorDType.F16 => First(MemoryMarshal.Cast<byte, ushort>(data), (ushort)0x7C00),
        _ => -1,
    };

    /// <summary>As <see cref="FirstNonFinite(ReadOnlySpan{byte}, SafeTensorDType)"/> for data of any length behind a pointer (tensors of 2 GiB and more).</summary>
    /// <param name="data">The first byte.</param>
    /// <param name="byteLength">Bytes.</param>
    /// <param name="dtype">The element type.</param>
    /// <returns>An element index, or -1.</returns>
    public static unsafe long FirstNonFinite(byte* data, long byteLength, SafeTensorDType dtype)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(byteLength);
        if (!Applies(dtype))
        {
            return -1;
        }

        int size = dtype == SafeTensorDType.F32 ? 4 : 2;
        const int Chunk = 1 << 30; // a multiple of every element size
        for (long offset = 0; offset < byteLength; offset += Chunk)
        {
            int count = (int)Math.Min(Chunk, byteLength - offset);
            long at = FirstNonFinite(new ReadOnlySpan<byte>(data + offset, count), dtype);
            if (at >= 0)
            {
                return (offset / size) + at;
            }
        }

        return -1;
    }

    /// <summary>The value at <paramref name="index"/> as text (NaN, Infinity or -Infinity), for messages.</summary>
    /// <param name="data">Raw elements.</param>
    /// <param name="dtype">Their type.</param>
    /// <param name="index">An element index.</param>
    /// <returns>The value's name.</returns>
    public static string Describe(ReadOnlySpan<byte> data, SafeTensorDType dtype, long index)
    {
        float value = dtype switch
        {
            SafeTensorDType.F32 => MemoryMarshal.Cast<byte, float>(data)[(int)index],
            SafeTensorDType.BF16 => (float)MemoryMarshal.Cast<byte, BFloat16>(data)[(int)index],
            SafeTensorDType.F16 => (float)MemoryMarshal.Cast<byte, Half>(data)[(int)index],
            _ => 0f,
        };
        return float.IsNaN(value) ? "NaN" : value > 0 ? "+Infinity" : "-Infinity";
    }

    // An element is NaN or ±Inf exactly when all of its exponent bits are set.
    private static long First<T>(ReadOnlySpan<T> values, T exponent)
        where T : unmanaged, IBinaryInteger<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<T>.Count)
        {
            var mask = new Vector<T>(exponent);
            ReadOnlySpan<Vector<T>> vectors = MemoryMarshal.Cast<T, Vector<T>>(values);
            // Four vectors per test keeps the loop at memory speed; the exact element is found afterwards.
            int v = 0;
            for (; v + 4 <= vectors.Length; v += 4)
            {
                Vector<T> any = Vector.Equals(vectors[v] & mask, mask) | Vector.Equals(vectors[v + 1] & mask, mask)
                              | Vector.Equals(vectors[v + 2] & mask, mask) | Vector.Equals(vectors[v + 3] & mask, mask);
                if (any != Vector<T>.Zero)
                {
                    break;
                }
            }

            i = v * Vector<T>.Count;
        }

        for (; i < values.Length; i++)
        {
            if ((values[i] & exponent) == exponent)
            {
                return i;
            }
        }

        return -1;
    }
}
