using System.Runtime.InteropServices;

namespace MoR.Interop;

internal static partial class NativeMethods
{
    // ---- dense linear algebra ----

    /// <summary>Strided-batched row-major GEMM; see mor.h for the exact contract.</summary>
    [LibraryImport(LibraryName)]
    public static partial int mor_gemm(
        ContextHandle context, StreamHandle stream, MorTranspose transA, MorTranspose transB,
        long m, long n, long k, float alpha,
        BufferHandle a, long aOffset, long lda, long strideA,
        BufferHandle b, long bOffset, long ldb, long strideB,
        float beta,
        BufferHandle c, long cOffset, long ldc, long strideC,
        long batch, int allowTf32);
}
