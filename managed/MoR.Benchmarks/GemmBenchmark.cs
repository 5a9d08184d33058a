using MoR.Numerics;

namespace MoR.Benchmarks;

/// <summary>
/// Throughput of <see cref="Tensor.MatMul(Tensor, Tensor, Tensor, float, float, bool, bool)"/> in the layout
/// a frozen <see cref="Modules.Linear"/> uses, y = x·Wᵀ, with F32 and BF16 weights.
/// </summary>
public static class GemmBenchmark
{
    /// <summary>
    /// Square products, and the up- and down-projection of a LLaMA-7B MLP over 512 tokens
    /// (x [512, 4096] · W [11008, 4096]ᵀ and x [512, 11008] · W [4096, 11008]ᵀ).
    /// </summary>
    public static IReadOnlyList<GemmShape> DefaultShapes { get; } =
        [new(512, 512, 512), new(2048, 2048, 2048), new(512, 4096, 11008), new(512, 11008, 4096)];

    /// <summary>The weight types measured when none are named: F32 and BF16.</summary>
    public static IReadOnlyList<DType> DefaultWeightDTypes { get; } = [DType.F32, DType.BF16];

    /// <summary>Times y = x·Wᵀ for every shape and weight type: <paramref name="warmup"/> untimed calls, then
    /// <paramref name="iterations"/> calls timed one by one (Stopwatch, device synchronised around each).</summary>
    /// <param name="device">Where to run.</param>
    /// <param name="shapes">The products; x and W hold fixed pseudo-random values.</param>
    /// <param name="iterations">Timed calls per shape and type (≥ 1).</param>
    /// <param name="warmup">Untimed calls first (≥ 0): BLAS thread start-up, allocator pools, cuBLAS heuristics.</param>
    /// <param name="weightDTypes">W's types: F32 and/or BF16 (default both).</param>
    /// <exception cref="ArgumentException">No shapes, or a weight type other than F32/BF16.</exception>
    public static GemmBenchmarkReport Run(
        Device device, IReadOnlyList<GemmShape> shapes, int iterations, int warmup = 1, IReadOnlyList<DType>? weightDTypes = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(shapes);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        weightDTypes ??= DefaultWeightDTypes;
        if (shapes.Count == 0)
        {
            throw new ArgumentException("At least one GEMM shape is needed.", nameof(shapes));
        }

        foreach (DType dtype in weightDTypes)
        {
            if (dtype is not (DType.F32 or DType.BF16))
            {
                throw new ArgumentException($"GEMM weights are F32 or BF16 (as in Linear); got {dtype}.", nameof(weightDTypes));
            }
        }

        foreach (GemmShape shape in shapes)
        {
            if (shape.M < 1 || shape.K < 1 || shape.N < 1)
            {
                throw new ArgumentException($"GEMM shape {shape} has a dimension below 1.", nameof(shapes));
            }
        }

        BenchmarkEnvironment environment = BenchmarkEnvironment.Capture(device);
        var rng = new SeededRandom(0x6E3D);
        var results = new List<GemmResult>(shapes.Count * weightDTypes.Count);
        foreach (GemmShape shape in shapes)
        {
            using Tensor x = BenchmarkData.Uniform(device, rng, 1.0, shape.M, shape.K);
            using Tensor weight = BenchmarkData.Uniform(device, rng, 0.02, shape.N, shape.K);
            using Tensor y = Tensor.Empty(device, DType.F32, shape.M, shape.N);
            foreach (DType dtype in weightDTypes)
            {
                using Tensor w = weight.To(dtype);
                TimingSummary timing = IterationTimer.Measure(
                    () => Tensor.MatMul(x, w, y, transposeB: true), device.Synchronize, warmup, iterations);
                results.Add(new GemmResult(shape, dtype, timing));
            }
        }

        return new GemmBenchmarkReport(environment, warmup, results);
    }
}
