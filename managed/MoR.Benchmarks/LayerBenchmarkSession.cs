using MoR.Adapters;
using MoR.Modules;
using MoR.Numerics;

namespace MoR.Benchmarks;

/// <summary>
/// The prepared layer of a <see cref="LayerBenchmark"/>: one frozen base weight, inputs, output gradients
/// and the three adapters, so that callers can time <see cref="Step"/> alongside other work (a peer
/// framework taking turns with it) and still get a <see cref="LayerBenchmarkReport"/>.
/// </summary>
/// <remarks>
/// One step of a method is what a training step does in that layer: <c>Forward</c>, then <c>Backward</c>
/// (the frozen base's y = x·Wᵀ and dx = dy·W plus the adapter's forward, parameter gradients and input
/// gradient). MoR also rebuilds Q every step, as after every optimizer step. Adapters start as initialised (B = 0):
/// the dense kernels do the same work whatever the values. Gradients and dx
/// accumulate across steps (nobody zeroes them: that is optimizer work, not layer work).
/// </remarks>
public sealed class LayerBenchmarkSession : IDisposable
{
    // The frozen base, then every registered method.
    private static readonly string[] s_methods = [LayerBenchmarkOptions.Base, .. AdapterMethods.All.Select(m => m.Name)];
    private readonly ILinearAdapter?[] _adapters;
    private readonly AdaptedLinear _layer;
    private readonly Tensor _x, _y, _dy, _dx;

    private LayerBenchmarkSession(
        Device device, LayerBenchmarkOptions options, AdaptedLinear layer, ILinearAdapter?[] adapters, Tensor x, Tensor y, Tensor dy, Tensor dx)
    {
        Device = device;
        Options = options;
        _layer = layer;
        _adapters = adapters;
        (_x, _y, _dy, _dx) = (x, y, dy, dx);
    }

    /// <summary>The base, then every registered method (<see cref="AdapterMethods.All"/>): the order of <see cref="CreateReport"/>'s timings and of the report.</summary>
    public static IReadOnlyList<string> Methods => s_methods;

    /// <summary>Where the layer lives.</summary>
    public Device Device { get; }

    /// <summary>The layer shape and iteration counts.</summary>
    public LayerBenchmarkOptions Options { get; }

    /// <summary>Allocates and initialises everything (a few hundred MB at the default shape).</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public static LayerBenchmarkSession Create(Device device, LayerBenchmarkOptions options)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var rng = new SeededRandom(options.Seed);
        var adapters = new ILinearAdapter?[Methods.Count];
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
            for (int m = 0; m < Methods.Count; m++)
            {
                adapters[m] = options.ConfigFor(Methods[m]) is { } config ? config.Method.Create(config, layer.Base, options.Seed) : null;
            }

            return new LayerBenchmarkSession(device, options, layer, adapters, x, y, dy, dx);
        }
        catch
        {
            layer?.Dispose();
            AdapterParts.Dispose([.. adapters, x, y, dy, dx]);
            throw;
        }
    }

    /// <summary>One forward + backward of <paramref name="method"/>; queued on the device, not waited for.</summary>
    public void Step(string method)
    {
        int index = Array.IndexOf(s_methods, method);
        if (index < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown layer method.");
        }

        ILinearAdapter? adapter = _adapters[index];
        _layer.Attach(adapter);
        adapter?.OnParametersChanged();
        _layer.Forward(_x, _y, AdapterPass.Inference);
        _layer.Backward(_x, _dy, _dx, AdapterPass.Inference);
    }

    /// <summary>The report for per-method timings given in <see cref="Methods"/> order; overheads relative to the base's median.</summary>
    /// <exception cref="ArgumentException">Not one timing per method.</exception>
    public LayerBenchmarkReport CreateReport(IReadOnlyList<TimingSummary> timings, BenchmarkEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(timings);
        ArgumentNullException.ThrowIfNull(environment);
        if (timings.Count != Methods.Count)
        {
            throw new ArgumentException($"One timing per method ({Methods.Count}) is needed; got {timings.Count}.", nameof(timings));
        }

        LayerFlops flops = Options.Flops;
        double baseMedian = timings[0].MedianMs;
        LayerResult[] results = [.. Methods.Select((method, m) => new LayerResult(
            method,
            timings[m],
            OverheadPercent: 100.0 * (timings[m].MedianMs - baseMedian) / baseMedian,
            FlopFloorPercent: flops.TrainingStepFloorPercent(Options.ConfigFor(method)),
            Gflops: flops.TrainingStep(Options.ConfigFor(method)) * Options.T / (timings[m].MedianMs * 1e6)))];
        return new LayerBenchmarkReport(environment, Options, results);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _layer.Attach(null);
        _layer.Dispose();
        AdapterParts.Dispose([.. _adapters, _x, _y, _dy, _dx]);
    }
}
