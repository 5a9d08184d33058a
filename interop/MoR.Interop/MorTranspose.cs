namespace MoR.Interop;

/// <summary><c>mor_transpose</c>: whether a GEMM operand is read transposed.</summary>
internal enum MorTranspose
{
    NoTranspose = 0,
    Transpose = 1,
}
