namespace MoR;

/// <summary>
/// The GEMM a matrix product maps to, worked out (and checked) from the operands' shapes before any
/// native call. 2-D operands are single matrices; a 3-D operand is a batch, and a 2-D operand next to a
/// 3-D one is shared by every batch entry (batch stride 0).
/// </summary>
internal readonly record struct MatMulShape(
    long Batch, long M, long N, long K, long Lda, long StrideA, long Ldb, long StrideB, long[] OutputShape)
{
    public static MatMulShape Create(Tensor a, Tensor b, bool transposeA, bool transposeB)
    {
        if (a.Rank is not (2 or 3))
        {
            throw new ArgumentException($"MatMul needs 2-D or 3-D operands; a is {ShapeText.Format(a.Shape)}.", nameof(a));
        }

        if (b.Rank is not (2 or 3))
        {
            throw new ArgumentException($"MatMul needs 2-D or 3-D operands; b is {ShapeText.Format(b.Shape)}.", nameof(b));
        }

        bool batched = a.Rank == 3 || b.Rank == 3;
        long batch = a.Rank == 3 ? a.Shape[0] : b.Rank == 3 ? b.Shape[0] : 1;
        if (a.Rank == 3 && b.Rank == 3 && a.Shape[0] != b.Shape[0])
        {
            throw new ArgumentException(
                $"MatMul batch sizes differ: a {ShapeText.Format(a.Shape)}, b {ShapeText.Format(b.Shape)}.", nameof(b));
        }

        (long aRows, long aCols) = (a.Shape[^2], a.Shape[^1]);
        (long bRows, long bCols) = (b.Shape[^2], b.Shape[^1]);
        (long m, long k) = transposeA ? (aCols, aRows) : (aRows, aCols);
        (long kB, long n) = transposeB ? (bCols, bRows) : (bRows, bCols);
        if (k != kB)
        {
            throw new ArgumentException(
                $"MatMul inner dimensions differ: a {ShapeText.Format(a.Shape)} (transposeA: {transposeA}) gives k = {k}, " +
                $"b {ShapeText.Format(b.Shape)} (transposeB: {transposeB}) gives k = {kB}.",
                nameof(b));
        }

        long[] output = batched ? [batch, m, n] : [m, n];
        return new MatMulShape(
            batch, m, n, k,
            Lda: Math.Max(aCols, 1), StrideA: a.Rank == 3 ? aRows * aCols : 0,
            Ldb: Math.Max(bCols, 1), StrideB: b.Rank == 3 ? bRows * bCols : 0,
            output);
    }
}
