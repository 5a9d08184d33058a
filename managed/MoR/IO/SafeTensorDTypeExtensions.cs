namespace MoR.IO;

/// <summary>Names, sizes and compute support of <see cref="SafeTensorDType"/> values.</summary>
public static class SafeTensorDTypeExtensions
{
    private static readonly Dictionary<string, SafeTensorDType> ByName = new(StringComparer.Ordinal)
    {
        ["BOOL"] = SafeTensorDType.Bool,
        ["U8"] = SafeTensorDType.U8,
        ["I8"] = SafeTensorDType.I8,
        ["F8_E5M2"] = SafeTensorDType.F8E5M2,
        ["F8_E4M3"] = SafeTensorDType.F8E4M3,
        ["I16"] = SafeTensorDType.I16,
        ["U16"] = SafeTensorDType.U16,
        ["F16"] = SafeTensorDType.F16,
        ["BF16"] = SafeTensorDType.BF16,
        ["I32"] = SafeTensorDType.I32,
        ["U32"] = SafeTensorDType.U32,
        ["F32"] = SafeTensorDType.F32,
        ["F64"] = SafeTensorDType.F64,
        ["I64"] = SafeTensorDType.I64,
        ["U64"] = SafeTensorDType.U64,
    };

    /// <summary>Parses a header dtype name (case-sensitive, as the format requires).</summary>
    /// <param name="name">The name as written in the header, e.g. <c>BF16</c>.</param>
    /// <param name="dtype">The parsed type.</param>
    /// <returns>Whether the name is a safetensors dtype.</returns>
    public static bool TryParse(string name, out SafeTensorDType dtype) => ByName.TryGetValue(name, out dtype);

    /// <summary>The name the header uses for <paramref name="dtype"/>.</summary>
    /// <param name="dtype">The element type.</param>
    /// <returns>The safetensors name, e.g. <c>F8_E4M3</c>.</returns>
    public static string ToSafeTensorsName(this SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.Bool => "BOOL",
        SafeTensorDType.F8E5M2 => "F8_E5M2",
        SafeTensorDType.F8E4M3 => "F8_E4M3",
        _ when Enum.IsDefined(dtype) => dtype.ToString(),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a safetensors dtype."),
    };

    /// <summary>Bytes per element.</summary>
    /// <param name="dtype">The element type.</param>
    /// <returns>1, 2, 4 or 8.</returns>
    public static int ElementSize(this SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.Bool or SafeTensorDType.U8 or SafeTensorDType.I8
            or SafeTensorDType.F8E5M2 or SafeTensorDType.F8E4M3 => 1,
        SafeTensorDType.I16 or SafeTensorDType.U16 or SafeTensorDType.F16 or SafeTensorDType.BF16 => 2,
        SafeTensorDType.I32 or SafeTensorDType.U32 or SafeTensorDType.F32 => 4,
        SafeTensorDType.F64 or SafeTensorDType.I64 or SafeTensorDType.U64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a safetensors dtype."),
    };

    /// <summary>Whether the compute library has this element type (F32, F16, BF16, I32, I64).</summary>
    /// <param name="dtype">The element type.</param>
    /// <returns><see langword="true"/> for the five compute types.</returns>
    public static bool IsComputeType(this SafeTensorDType dtype) => dtype is SafeTensorDType.F32
        or SafeTensorDType.F16 or SafeTensorDType.BF16 or SafeTensorDType.I32 or SafeTensorDType.I64;

    /// <summary>Whether this is a floating-point type.</summary>
    /// <param name="dtype">The element type.</param>
    /// <returns><see langword="true"/> for F8, F16, BF16, F32 and F64.</returns>
    public static bool IsFloatingPoint(this SafeTensorDType dtype) => dtype is SafeTensorDType.F8E4M3
        or SafeTensorDType.F8E5M2 or SafeTensorDType.F16 or SafeTensorDType.BF16
        or SafeTensorDType.F32 or SafeTensorDType.F64;

    /// <summary>The compute type of the same name.</summary>
    /// <param name="dtype">The element type.</param>
    /// <returns>F32, F16, BF16, I32 or I64.</returns>
    /// <exception cref="NotSupportedException">Unsupported dtype: the compute library has no such type.</exception>
    public static DType ToDType(this SafeTensorDType dtype) => dtype.ToDType(null, null);

    /// <summary>The safetensors type of the same name.</summary>
    /// <param name="dtype">A compute type.</param>
    /// <returns>The safetensors type.</returns>
    public static SafeTensorDType ToSafeTensorDType(this DType dtype) => dtype switch
    {
        DType.F32 => SafeTensorDType.F32,
        DType.F16 => SafeTensorDType.F16,
        DType.BF16 => SafeTensorDType.BF16,
        DType.I32 => SafeTensorDType.I32,
        DType.I64 => SafeTensorDType.I64,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown DType."),
    };

    /// <summary><see cref="ToDType(SafeTensorDType)"/> with the file and tensor named in the error.</summary>
    internal static DType ToDType(this SafeTensorDType dtype, string? path, string? tensorName) => dtype switch
    {
        SafeTensorDType.F32 => DType.F32,
        SafeTensorDType.F16 => DType.F16,
        SafeTensorDType.BF16 => DType.BF16,
        SafeTensorDType.I32 => DType.I32,
        SafeTensorDType.I64 => DType.I64,
        _ => throw new NotSupportedException(
            (tensorName is null ? string.Empty : $"Tensor '{tensorName}'" + (path is null ? string.Empty : $" in '{path}'") + ": ")
            + $"unsupported dtype {dtype.ToSafeTensorsName()}; MoR computes in F32, F16, BF16, I32 and I64 only."),
    };

    /// <summary>All names the format defines, for error messages.</summary>
    internal static string KnownNames => string.Join(", ", ByName.Keys);
}
