using MoR.Interop;

namespace MoR;

/// <summary>Properties of <see cref="DType"/> values and the mapping from .NET element types.</summary>
public static class DTypeExtensions
{
    extension(DType dtype)
    {
        /// <summary>Bytes per element.</summary>
        public int ElementSize => dtype switch
        {
            DType.F32 => 4,
            DType.F16 => 2,
            DType.BF16 => 2,
            DType.I32 => 4,
            DType.I64 => 8,
            _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown DType."),
        };

        /// <summary>Whether the type is F32, F16 or BF16.</summary>
        public bool IsFloatingPoint => dtype is DType.F32 or DType.F16 or DType.BF16;
    }

    /// <summary>The <see cref="DType"/> whose elements are <typeparamref name="T"/>, or <see langword="null"/>.</summary>
    /// <typeparam name="T">float, Half, BFloat16, int or long.</typeparam>
    public static DType? DTypeOf<T>()
        where T : unmanaged =>
        typeof(T) == typeof(float) ? DType.F32
        : typeof(T) == typeof(Half) ? DType.F16
        : typeof(T) == typeof(BFloat16) ? DType.BF16
        : typeof(T) == typeof(int) ? DType.I32
        : typeof(T) == typeof(long) ? DType.I64
        : null;

    internal static MorDType ToNative(this DType dtype) => (MorDType)dtype;
}
