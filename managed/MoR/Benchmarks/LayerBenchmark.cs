using MoR.Adapters;
using MoR.Modules;
using MoR.Numerics;

namespace MoR.Benchmarks;

/// <summary>
/// Forward + backward time of one <see cref="AdaptedLinear"/> with each adapter (LoRA, MoE-LoRA, MoR) next
/// to the frozen base alone, measured in the same run on the same base weight — the managed counterpart of
/// <c>native/bench/layer_bench.cpp</c>, going through the real modules and adapters.
/// </summary>
/// <remarks>
/// One iteration of a method is what a training step does in that layer: <c>Forward</c>, then
/// <c>Backward</c> (the frozen base's y = x·Wᵀ and dx = dy·W plus the adapter's forward, parameter
/// gradients and input gradient). MoR also rebuilds Q each iteration, as after every optimizer step.
/// The methods take turns within each iteration (base, LoRA, MoE-LoRA, MoR, base, …), so a burst of
/// other work on the machine lands on all of them rather than on one. Adapter B matrices hold small
/// random values instead of the zeros of a fresh adapter, as they would after some training.
/// </remarks>
public static class LayerBenchmark
{
    private static readonly LayerMethod[] Methods = [LayerMethod.Base, LayerMethod.LoRA, LayerMethod.MoELoRA, LayerMethod.MoR];

    /// <summary>Times every method; overheads are relative to the base's median.</summary>
    /// <param name="device">Where to run.</param>
    /// <param name="options">The layer shape and iteration counts.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public static LayerBenchmarkReport Run(Device device, LayerBenchmarkOptions options)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        BenchmarkEnvironment environment = BenchmarkEnvironment.Capture(device);
        var rng = new SeededRandom(options.Seed);

        var adapters = new ILinearAdapter?[Methods.Length];
        AdaptedLinear? layer = null;
        Tensor? x = null, y = null, dy = null, dx = null;
        try
        {
            using (Tensor weight = BenchmarkData.Uniform(device, rng, 0.02, options.DOut, options.DIn))
            {
                layer = new AdaptedLinear(new Linear("bench.layer", weight.To(options.BaseDType)));
            }

            x = BenchmarkData.Uniform(device, rng, 1.0, options.T, options.DIn);
            dy = BenchmarkData.Uniform(device, rng, 1.0, options.T, options.DOut);
            y = Tensor.Empty(device, DType.F32, options.T, options.DOut);
            dx = Tensor.Zeros(device, DType.F32, options.T, options.DIn);
            for (int m = 0; m < Methods.Length; m++)
            {
                adapters[m] = CreateAdapter(device, Methods[m], options, rng);
            }

            var samples = new double[Methods.Length][];
            for (int m = 0; m < Methods.Length; m++)
            {
                samples[m] = new double[options.Iterations];
            }

            for (int i = -options.Warmup; i < options.Iterations; i++)
            {
                for (int m = 0; m < Methods.Length; m++)
                {
                    ILinearAdapter? adapter = adapters[m];
                    layer.Attach(adapter);
                    double ms = IterationTimer.TimeOnce(
                        () =>
                        {
                            adapter?.OnParametersChanged();
                            layer.Forward(x, y);
                            layer.Backward(x, dy, dx);
                        },
                        device.Synchronize);
                    if (i >= 0)
                    {
                        samples[m][i] = ms;
                    }
                }
            }

            layer.Attach(null);
            LayerFlops flops = options.Flops;
            TimingSummary[] timings = [.. samples.Select(s => TimingSummary.FromSamples(s))];
            double baseMedian = timings[0].MedianMs;
            var results = new LayerResult[Methods.Length];
            for (int m = 0; m < Methods.Length; m++)
            {
                LayerMethod method = Methods[m];
                results[m] = new LayerResult(
                    method,
                    timings[m],
                    OverheadPercent: 100.0 * (timings[m].MedianMs - baseMedian) / baseMedian,
                    FlopFloorPercent: flops.TrainingStepFloorPercent(method),
                    Gflops: flops.TrainingStep(method) * options.T / (timings[m].MedianMs * 1e6));
            }

            return new LayerBenchmarkReport(environment, options, results);
        }
        finally
        {
            layer?.Attach(null);
            layer?.Dispose();
            foreach (ILinearAdapter? adapter in adapters)
            {
                adapter?.Dispose();
            }

            x?.Dispose();
            y?.Dispose();
            dy?.Dispose();
            dx?.Dispose();
        }
    }

    private static ILinearAdapter? CreateAdapter(Device device, LayerMethod method, LayerBenchmarkOptions options, SeededRandom rng)
    {
        if (method == LayerMethod.Base)
        {
            return null;
        }

        // α = 2r, so s = 2 as in the native layer bench; the scale does not change the work.
        AdapterKind kind = method switch
        {
            LayerMethod.LoRA => AdapterKind.LoRA,
            LayerMethod.MoELoRA => AdapterKind.MoELoRA,
            _ => AdapterKind.MoR,
        };
        var adapterOptions = new AdapterOptions(kind, Rank: options.R, Alpha: 2f * options.R, Experts: options.N, Seed: options.Seed);
        ILinearAdapter adapter = kind switch
        {
            AdapterKind.LoRA => new LoRAAdapter(device, options.DIn, options.DOut, adapterOptions),
            AdapterKind.MoELoRA => new MoELoRAAdapter(device, options.DIn, options.DOut, adapterOptions),
            _ => new MoRAdapter(device, options.DIn, options.DOut, adapterOptions),
        };

        try
        {
            Parameter b = adapter switch
            {
                LoRAAdapter lora => lora.B,
                MoELoRAAdapter moe => moe.BCat,
                MoRAdapter mor => mor.B,
                _ => throw new InvalidOperationException($"No B matrix known for {adapter.Kind}."),
            };
            float[] values = new float[b.Numel];
            rng.FillUniform(values, -0.01, 0.01);
            b.Value.CopyFrom<float>(values);
            adapter.OnParametersChanged();
            return adapter;
        }
        catch
        {
            adapter.Dispose();
            throw;
        }
    }
}
