using MoR.Interop;

namespace MoR;

/// <summary>
/// The one managed layer over the native library's generic ops — GEMM with element offsets, copy, fill, axpy, scale,
/// upload and download — used by tensors, adapters, the model, the trainer and the communicator alike. Offsets and
/// counts are in elements, so a caller works on row ranges and sub-blocks of one buffer without views or copies.
/// </summary>
internal static unsafe class Ops
{
    /// <summary>Row-major C[m×n] = α·op(A)·op(B) + β·C with offsets into each buffer (TF32 as the device allows).</summary>
    public static void Gemm(
        bool transA, bool transB, long m, long n, long k, float alpha,
        Tensor a, long aOffset, long lda, Tensor b, long bOffset, long ldb, float beta, Tensor c, long cOffset, long ldc) =>
        Gemm(transA, transB, m, n, k, alpha, a, aOffset, lda, 0, b, bOffset, ldb, 0, beta, c, cOffset, ldc, 0, batch: 1);

    /// <summary>
    /// <paramref name="batch"/> products C_i = α·op(A_i)·op(B_i) + β·C_i, operand i starting <c>i·stride</c> elements after
    /// the first (a stride of 0 reuses the operand).
    /// </summary>
    public static void Gemm(
        bool transA, bool transB, long m, long n, long k, float alpha, Tensor a, long aOffset, long lda, long strideA,
        Tensor b, long bOffset, long ldb, long strideB, float beta, Tensor c, long cOffset, long ldc, long strideC, long batch)
    {
        Device d = c.Device;
        NativeCall.Check(
            NativeMethods.mor_gemm(d.Context, StreamHandle.Default,
                transA ? MorTranspose.Transpose : MorTranspose.NoTranspose,
                transB ? MorTranspose.Transpose : MorTranspose.NoTranspose,
                m, n, k, alpha, a.Handle, aOffset, lda, strideA, b.Handle, bOffset, ldb, strideB, beta, c.Handle, cOffset, ldc, strideC, batch,
                d.AllowTf32 ? 1 : 0),
            nameof(NativeMethods.mor_gemm));
    }

    /// <summary>dst[dstOffset..] ← src[srcOffset..], <paramref name="count"/> elements of the same dtype, on the device.</summary>
    public static void Copy(Tensor src, long srcOffset, Tensor dst, long dstOffset, long count) =>
        NativeCall.Check(
            NativeMethods.mor_buffer_copy(dst.Handle, dstOffset, src.Handle, srcOffset, count, StreamHandle.Default),
            nameof(NativeMethods.mor_buffer_copy));

    /// <summary>dst ← src, all of src.</summary>
    public static void Copy(Tensor src, Tensor dst) => Copy(src, 0, dst, 0, src.Numel);

    /// <summary>t[offset .. offset + count) = value.</summary>
    public static void Fill(Tensor t, long offset, long count, double value) =>
        NativeCall.Check(NativeMethods.mor_buffer_fill(t.Handle, offset, count, value, StreamHandle.Default), nameof(NativeMethods.mor_buffer_fill));

    /// <summary>Every element of t = 0.</summary>
    public static void Zero(Tensor t) => Fill(t, 0, t.Numel, 0);

    /// <summary>y[yOffset..] += α·x[xOffset..] over <paramref name="count"/> elements.</summary>
    public static void Axpy(float alpha, Tensor x, long xOffset, Tensor y, long yOffset, long count) =>
        NativeCall.Check(
            NativeMethods.mor_axpy(x.Device.Context, StreamHandle.Default, count, alpha, x.Handle, xOffset, y.Handle, yOffset),
            nameof(NativeMethods.mor_axpy));

    /// <summary>y += α·x over all of x.</summary>
    public static void Axpy(float alpha, Tensor x, Tensor y) => Axpy(alpha, x, 0, y, 0, x.Numel);

    /// <summary>x[offset .. offset + count) *= α.</summary>
    public static void Scale(float alpha, Tensor x, long offset, long count) =>
        NativeCall.Check(
            NativeMethods.mor_scale(x.Device.Context, StreamHandle.Default, count, alpha, x.Handle, offset), nameof(NativeMethods.mor_scale));

    /// <summary>dst[0..] ← host values.</summary>
    public static void Upload<T>(Tensor dst, ReadOnlySpan<T> values)
        where T : unmanaged => Upload(dst, 0, values);

    /// <summary>dst[offset..] ← host values.</summary>
    public static void Upload<T>(Tensor dst, long offset, ReadOnlySpan<T> values)
        where T : unmanaged
    {
        fixed (T* p = values)
        {
            NativeCall.Check(NativeMethods.mor_buffer_upload(dst.Handle, offset, p, values.Length, StreamHandle.Default), nameof(NativeMethods.mor_buffer_upload));
        }
    }

    /// <summary>Host values ← src[offset ..].</summary>
    public static void Download<T>(Tensor src, long offset, Span<T> values)
        where T : unmanaged
    {
        fixed (T* p = values)
        {
            NativeCall.Check(NativeMethods.mor_buffer_download(src.Handle, offset, p, values.Length, StreamHandle.Default), nameof(NativeMethods.mor_buffer_download));
        }
    }
}
