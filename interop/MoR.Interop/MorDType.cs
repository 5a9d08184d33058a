namespace MoR.Interop;

/// <summary><c>mor_dtype</c>: element type of a native buffer.</summary>
internal enum MorDType
{
    F32 = 0,
    F16 = 1,
    BF16 = 2,
    I32 = 3,
    I64 = 4,
}
