namespace MoR.Tests.Infrastructure;

/// <summary>Float64 reference matrix products for checking native results.</summary>
public static class ReferenceGemm
{
    /// <summary>
    /// C = op(A) · op(B) in float64 for row-major A (m×k, or k×m when transposed) and B (k×n, or n×k),
    /// plus Σ|a·b| per element, the scale an F32-accumulated result's error is proportional to.
    /// </summary>
    public static (double[] Product, double[] AbsoluteSum) Multiply(
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, int m, int n, int k, bool transposeA, bool transposeB)
    {
        var product = new double[m * n];
        var absoluteSum = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                double abs = 0;
                for (int p = 0; p < k; p++)
                {
                    double x = transposeA ? a[p * m + i] : a[i * k + p];
                    double y = transposeB ? b[j * k + p] : b[p * n + j];
                    sum += x * y;
                    abs += Math.Abs(x * y);
                }

                product[i * n + j] = sum;
                absoluteSum[i * n + j] = abs;
            }
        }

        return (product, absoluteSum);
    }

    /// <summary>Asserts |actual − expected| ≤ relative · Σ|a·b| + absolute, element by element.</summary>
    public static void AssertClose(
        ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, ReadOnlySpan<double> absoluteSum, double relative, double absolute = 1e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]);
            double bound = relative * absoluteSum[i] + absolute;
            if (!(error <= bound))
            {
                Assert.Fail($"element {i}: got {actual[i]}, expected {expected[i]} (error {error:E3} > bound {bound:E3})");
            }
        }
    }

    /// <summary>Deterministic values in [-1, 1).</summary>
    public static float[] RandomMatrix(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1);
        }

        return values;
    }
}
