using MoR.Interop;

namespace MoR;

public sealed partial class Tensor
{
    /// <summary>
    /// The matrix product op(a) · op(b), accumulated in F32. 2-D × 2-D gives [m, n]; with a 3-D operand
    /// [batch, ·, ·] the product is batched and gives [batch, m, n] (a 2-D operand is shared by the batch).
    /// </summary>
    /// <param name="a">[m, k], or [k, m] with <paramref name="transposeA"/>; optionally with a leading batch dimension.</param>
    /// <param name="b">[k, n], or [n, k] with <paramref name="transposeB"/>; optionally with a leading batch dimension.</param>
    /// <param name="transposeA">Read <paramref name="a"/> transposed.</param>
    /// <param name="transposeB">Read <paramref name="b"/> transposed.</param>
    /// <returns>
    /// A new tensor on the operands' device: the operands' dtype when they agree, F32 when one is F32 and the
    /// other 16-bit (the F32 operand is first rounded to the 16-bit type).
    /// </returns>
    /// <exception cref="ArgumentException">
    /// Shapes do not line up, an operand is not F32/F16/BF16, F16 meets BF16, or the operands are on different devices.
    /// </exception>
    public static Tensor MatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        CheckOperands(a, b);
        MatMulShape shape = MatMulShape.Create(a, b, transposeA, transposeB);
        DType resultType = a.DType == b.DType ? a.DType : DType.F32;
        Tensor output = Empty(a.Device, resultType, shape.OutputShape);
        try
        {
            Gemm(a, b, output, shape, transposeA, transposeB, alpha: 1f, beta: 0f);
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <paramref name="output"/> = <paramref name="alpha"/> · op(a) · op(b) + <paramref name="beta"/> · <paramref name="output"/>,
    /// accumulated in F32. Shapes as in <see cref="MatMul(Tensor, Tensor, bool, bool)"/>.
    /// </summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    /// <param name="output">The result, of exactly the product's shape; F32 or the operands' 16-bit type; not sharing data with a or b.</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="beta">Scale of the existing contents of <paramref name="output"/> (0 ignores them, even NaN).</param>
    /// <param name="transposeA">Read <paramref name="a"/> transposed.</param>
    /// <param name="transposeB">Read <paramref name="b"/> transposed.</param>
    /// <exception cref="ArgumentException">As for the allocating overload, or <paramref name="output"/> has the wrong shape, dtype or device.</exception>
    public static void MatMul(
        Tensor a, Tensor b, Tensor output, float alpha = 1f, float beta = 0f, bool transposeA = false, bool transposeB = false)
    {
        CheckOperands(a, b);
        ArgumentNullException.ThrowIfNull(output);
        ObjectDisposedException.ThrowIf(output.IsDisposed, output);
        MatMulShape shape = MatMulShape.Create(a, b, transposeA, transposeB);
        if (!ReferenceEquals(output.Device, a.Device))
        {
            throw new ArgumentException($"MatMul output is on {output.Device} but the operands are on {a.Device}.", nameof(output));
        }

        if (!output.Shape.SequenceEqual(shape.OutputShape))
        {
            throw new ArgumentException(
                $"MatMul of a {ShapeText.Format(a.Shape)} (transposeA: {transposeA}) and b {ShapeText.Format(b.Shape)} " +
                $"(transposeB: {transposeB}) is {ShapeText.Format(shape.OutputShape)}, but output is {ShapeText.Format(output.Shape)}.",
                nameof(output));
        }

        DType narrow = a.DType != DType.F32 ? a.DType : b.DType;
        if (output.DType != DType.F32 && output.DType != narrow)
        {
            throw new ArgumentException(
                $"MatMul output must be F32 or the operands' 16-bit type ({narrow}); it is {output.DType}.", nameof(output));
        }

        if (ReferenceEquals(output._storage, a._storage) || ReferenceEquals(output._storage, b._storage))
        {
            throw new ArgumentException("MatMul output must not share data with an operand.", nameof(output));
        }

        Gemm(a, b, output, shape, transposeA, transposeB, alpha, beta);
    }

    private static void CheckOperands(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ObjectDisposedException.ThrowIf(a.IsDisposed, a);
        ObjectDisposedException.ThrowIf(b.IsDisposed, b);
        if (!ReferenceEquals(a.Device, b.Device))
        {
            throw new ArgumentException($"MatMul operands are on different devices: a on {a.Device}, b on {b.Device}.", nameof(b));
        }

        if (!a.DType.IsFloatingPoint)
        {
            throw new ArgumentException($"MatMul needs F32, F16 or BF16 operands; a is {a.DType}.", nameof(a));
        }

        if (!b.DType.IsFloatingPoint)
        {
            throw new ArgumentException($"MatMul needs F32, F16 or BF16 operands; b is {b.DType}.", nameof(b));
        }

        if (a.DType != b.DType && a.DType != DType.F32 && b.DType != DType.F32)
        {
            throw new ArgumentException($"MatMul cannot mix {a.DType} and {b.DType}.", nameof(b));
        }
    }

    private static void Gemm(
        Tensor a, Tensor b, Tensor c, MatMulShape shape, bool transposeA, bool transposeB, float alpha, float beta)
    {
        Ops.Gemm(
            transposeA, transposeB, shape.M, shape.N, shape.K, alpha, a, 0, shape.Lda, shape.StrideA, b, 0, shape.Ldb, shape.StrideB,
            beta, c, 0, Math.Max(shape.N, 1), shape.M * shape.N, shape.Batch);
    }
}
