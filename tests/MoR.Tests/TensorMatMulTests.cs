using MoR.Tests.Infrastructure;

namespace MoR.Tests;

/// <summary>Tensor.MatMul on the CPU against a float64 reference.</summary>
public sealed class TensorMatMulTests
{
    private static readonly Device Cpu = Device.Cpu;

    public static TheoryData<int, bool, bool> SizesAndTransposes()
    {
        var data = new TheoryData<int, bool, bool>();
        foreach (int size in new[] { 1, 7, 33, 257 })
        {
            foreach (bool transposeA in new[] { false, true })
            {
                foreach (bool transposeB in new[] { false, true })
                {
                    data.Add(size, transposeA, transposeB);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SizesAndTransposes))]
    public void F32MatchesTheReference(int size, bool transposeA, bool transposeB)
    {
        // Three different dimensions so that a swapped m, n or k cannot pass.
        (int m, int n, int k) = (size, size + 2, size + 1);
        float[] a = ReferenceGemm.RandomMatrix(m * k, seed: size);
        float[] b = ReferenceGemm.RandomMatrix(k * n, seed: size + 1000);
        using Tensor ta = Tensor.FromSpan<float>(Cpu, a, transposeA ? [k, m] : [m, k]);
        using Tensor tb = Tensor.FromSpan<float>(Cpu, b, transposeB ? [n, k] : [k, n]);

        using Tensor c = Tensor.MatMul(ta, tb, transposeA, transposeB);

        Assert.Equal([(long)m, n], c.Shape.ToArray());
        Assert.Equal(DType.F32, c.DType);
        (double[] expected, double[] scale) = ReferenceGemm.Multiply(a, b, m, n, k, transposeA, transposeB);
        ReferenceGemm.AssertClose(c.ToArray<float>(), expected, scale, relative: 1e-5);
    }

    [Theory]
    [MemberData(nameof(SizesAndTransposes))]
    public void BF16MatchesTheReferenceWithinBF16Rounding(int size, bool transposeA, bool transposeB)
    {
        (int m, int n, int k) = (size, size + 2, size + 1);
        float[] a = RoundToBF16(ReferenceGemm.RandomMatrix(m * k, seed: size + 7));
        float[] b = RoundToBF16(ReferenceGemm.RandomMatrix(k * n, seed: size + 2007));
        using Tensor fa = Tensor.FromSpan<float>(Cpu, a, transposeA ? [k, m] : [m, k]);
        using Tensor fb = Tensor.FromSpan<float>(Cpu, b, transposeB ? [n, k] : [k, n]);
        using Tensor ta = fa.To(DType.BF16);
        using Tensor tb = fb.To(DType.BF16);

        using Tensor c = Tensor.MatMul(ta, tb, transposeA, transposeB);

        Assert.Equal(DType.BF16, c.DType);
        using Tensor c32 = c.To(DType.F32);
        (double[] expected, double[] scale) = ReferenceGemm.Multiply(a, b, m, n, k, transposeA, transposeB);
        // Inputs are exact BF16 values and accumulation is F32: the error is the final rounding to BF16
        // (half an ulp, 2^-9 relative) plus F32 accumulation.
        float[] actual = c32.ToArray<float>();
        for (int i = 0; i < actual.Length; i++)
        {
            double bound = Math.Abs(expected[i]) * Math.Pow(2, -8) + 1e-5 * scale[i] + 1e-6;
            Assert.True(Math.Abs(actual[i] - expected[i]) <= bound, $"element {i}: got {actual[i]}, expected {expected[i]}");
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void BatchedProductsMultiplyEachPair(bool transposeA, bool transposeB)
    {
        const int batch = 3, m = 5, n = 4, k = 6;
        float[] a = ReferenceGemm.RandomMatrix(batch * m * k, seed: 1);
        float[] b = ReferenceGemm.RandomMatrix(batch * k * n, seed: 2);
        using Tensor ta = Tensor.FromSpan<float>(Cpu, a, transposeA ? [batch, k, m] : [batch, m, k]);
        using Tensor tb = Tensor.FromSpan<float>(Cpu, b, transposeB ? [batch, n, k] : [batch, k, n]);

        using Tensor c = Tensor.MatMul(ta, tb, transposeA, transposeB);

        Assert.Equal([(long)batch, m, n], c.Shape.ToArray());
        float[] actual = c.ToArray<float>();
        for (int i = 0; i < batch; i++)
        {
            (double[] expected, double[] scale) = ReferenceGemm.Multiply(
                a.AsSpan(i * m * k, m * k), b.AsSpan(i * k * n, k * n), m, n, k, transposeA, transposeB);
            ReferenceGemm.AssertClose(actual.AsSpan(i * m * n, m * n), expected, scale, relative: 1e-5);
        }
    }

    [Fact]
    public void AMatrixNextToABatchIsSharedByEveryEntry()
    {
        const int batch = 4, m = 3, n = 5, k = 2;
        float[] a = ReferenceGemm.RandomMatrix(batch * m * k, seed: 3);
        float[] w = ReferenceGemm.RandomMatrix(n * k, seed: 4);
        using Tensor x = Tensor.FromSpan<float>(Cpu, a, batch, m, k);
        using Tensor weight = Tensor.FromSpan<float>(Cpu, w, n, k);

        using Tensor right = Tensor.MatMul(x, weight, transposeB: true);   // x · Wᵀ, as a Linear layer
        using Tensor left = Tensor.MatMul(weight, x, transposeB: true);    // W · x_iᵀ

        float[] rightValues = right.ToArray<float>();
        float[] leftValues = left.ToArray<float>();
        Assert.Equal([(long)batch, m, n], right.Shape.ToArray());
        Assert.Equal([(long)batch, n, m], left.Shape.ToArray());
        for (int i = 0; i < batch; i++)
        {
            (double[] expected, double[] scale) = ReferenceGemm.Multiply(a.AsSpan(i * m * k, m * k), w, m, n, k, false, true);
            ReferenceGemm.AssertClose(rightValues.AsSpan(i * m * n, m * n), expected, scale, relative: 1e-5);
            (expected, scale) = ReferenceGemm.Multiply(w, a.AsSpan(i * m * k, m * k), n, m, k, false, true);
            ReferenceGemm.AssertClose(leftValues.AsSpan(i * m * n, m * n), expected, scale, relative: 1e-5);
        }
    }

    [Fact]
    public void TheOutputOverloadScalesAndAccumulates()
    {
        const int m = 4, n = 3, k = 5;
        float[] a = ReferenceGemm.RandomMatrix(m * k, seed: 5);
        float[] b = ReferenceGemm.RandomMatrix(k * n, seed: 6);
        float[] c0 = ReferenceGemm.RandomMatrix(m * n, seed: 7);
        using Tensor ta = Tensor.FromSpan<float>(Cpu, a, m, k);
        using Tensor tb = Tensor.FromSpan<float>(Cpu, b, k, n);
        using Tensor tc = Tensor.FromSpan<float>(Cpu, c0, m, n);

        Tensor.MatMul(ta, tb, tc, alpha: 0.5f, beta: -2f);

        (double[] product, double[] scale) = ReferenceGemm.Multiply(a, b, m, n, k, false, false);
        double[] expected = product.Select((p, i) => 0.5 * p - 2.0 * c0[i]).ToArray();
        double[] bound = scale.Select((s, i) => 0.5 * s + 2.0 * Math.Abs(c0[i])).ToArray();
        ReferenceGemm.AssertClose(tc.ToArray<float>(), expected, bound, relative: 1e-5);
    }

    [Fact]
    public void BetaZeroIgnoresWhateverTheOutputHeld()
    {
        using Tensor a = Tensor.FromSpan<float>(Cpu, [1f, 2f], 1, 2);
        using Tensor b = Tensor.FromSpan<float>(Cpu, [3f, 4f], 2, 1);
        using Tensor c = Tensor.FromSpan<float>(Cpu, [float.NaN], 1, 1);

        Tensor.MatMul(a, b, c, beta: 0f);

        Assert.Equal([11f], c.ToArray<float>());
    }

    [Fact]
    public void MixingF32WithBF16RoundsTheF32OperandAndGivesF32()
    {
        float[] a = ReferenceGemm.RandomMatrix(6, seed: 8);
        float[] b = ReferenceGemm.RandomMatrix(6, seed: 9);
        using Tensor ta = Tensor.FromSpan<float>(Cpu, a, 2, 3);
        using Tensor tb32 = Tensor.FromSpan<float>(Cpu, b, 3, 2);
        using Tensor tb = tb32.To(DType.BF16);
        using Tensor ta16 = ta.To(DType.BF16);

        using Tensor mixed = Tensor.MatMul(ta, tb);
        using Tensor reference = Tensor.Zeros(Cpu, DType.F32, 2, 2);
        Tensor.MatMul(ta16, tb, reference);

        Assert.Equal(DType.F32, mixed.DType);
        Assert.Equal(reference.ToArray<float>(), mixed.ToArray<float>());
    }

    [Fact]
    public void EmptyDimensionsGiveEmptyOrZeroResults()
    {
        using Tensor a = Tensor.Zeros(Cpu, DType.F32, 3, 0);
        using Tensor b = Tensor.Zeros(Cpu, DType.F32, 0, 2);
        using Tensor none = Tensor.Zeros(Cpu, DType.F32, 0, 3);

        using Tensor zeros = Tensor.MatMul(a, b);
        using Tensor empty = Tensor.MatMul(none, a);

        Assert.Equal([0f, 0f, 0f, 0f, 0f, 0f], zeros.ToArray<float>());
        Assert.Equal([0L, 0L], empty.Shape.ToArray());
    }

    private static float[] RoundToBF16(float[] values) => values.Select(v => (float)(BFloat16)v).ToArray();
}
