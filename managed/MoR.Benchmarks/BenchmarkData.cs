using MoR.Numerics;

namespace MoR.Benchmarks;

/// <summary>Inputs for benchmarks: fixed pseudo-random values, so that runs see the same data.</summary>
internal static class BenchmarkData
{
    /// <summary>An F32 tensor of U(−<paramref name="scale"/>, <paramref name="scale"/>) values.</summary>
    public static Tensor Uniform(Device device, SeededRandom rng, double scale, params ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (long dimension in shape)
        {
            count = checked(count * dimension);
        }

        float[] values = new float[count];
        rng.FillUniform(values, -scale, scale);
        return Tensor.FromSpan<float>(device, values, shape);
    }
}
