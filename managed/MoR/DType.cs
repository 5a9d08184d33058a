namespace MoR;

/// <summary>Element type of a <see cref="Tensor"/>. Values match the native <c>mor_dtype</c>.</summary>
public enum DType
{
    /// <summary>IEEE 754 single precision (<see cref="float"/>).</summary>
    F32 = 0,

    /// <summary>IEEE 754 half precision (<see cref="System.Half"/>).</summary>
    F16 = 1,

    /// <summary>bfloat16: the top 16 bits of an F32 (<see cref="BFloat16"/>).</summary>
    BF16 = 2,

    /// <summary>32-bit signed integer (<see cref="int"/>).</summary>
    I32 = 3,

    /// <summary>64-bit signed integer (<see cref="long"/>).</summary>
    I64 = 4,
}
