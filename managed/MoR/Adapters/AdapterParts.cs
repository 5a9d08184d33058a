using MoR.Interop;
using MoR.Modules;
using MoR.Numerics;

namespace MoR.Adapters;

/// <summary>Pieces every adapter uses: initialisation, shape checks, host import/export, saved activations.</summary>
internal static class AdapterParts
{
    /// <summary>Kaiming-uniform with a = √5 (PyTorch's Linear default, PEFT's lora_A): U(−1/√fan_in, 1/√fan_in).</summary>
    public static void KaimingUniform(Span<float> values, int fanIn, SeededRandom rng)
    {
        double bound = 1.0 / Math.Sqrt(fanIn);
        rng.FillUniform(values, -bound, bound);
    }

    public static Parameter NewParameter(Device device, string name, float[] values, bool weightDecay, params long[] shape) =>
        new(name, Tensor.FromSpan<float>(device, values, shape), weightDecay);

    public static float[] Filled(long count, float value)
    {
        float[] a = new float[count];
        Array.Fill(a, value);
        return a;
    }

    public static void CheckInput(ILinearAdapter adapter, Linear baseLayer, Tensor x, Tensor y)
    {
        string kind = adapter.Config.Method.DisplayName;
        ArgumentNullException.ThrowIfNull(baseLayer);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (baseLayer.InFeatures != adapter.InFeatures || baseLayer.OutFeatures != adapter.OutFeatures)
        {
            throw new ArgumentException(
                $"{kind} adapter is {adapter.OutFeatures}x{adapter.InFeatures} but layer '{baseLayer.Name}' is {baseLayer.OutFeatures}x{baseLayer.InFeatures}.",
                nameof(baseLayer));
        }

        if (x.Rank != 2 || x.Shape[1] != adapter.InFeatures || x.DType != DType.F32)
        {
            throw new ArgumentException($"{kind} adapter input must be F32 [T, {adapter.InFeatures}]; got {x.DType} {ShapeText.Format(x.Shape)}.", nameof(x));
        }

        if (y.Rank != 2 || y.Shape[0] != x.Shape[0] || y.Shape[1] != adapter.OutFeatures || y.DType != DType.F32)
        {
            throw new ArgumentException($"{kind} adapter output must be F32 [{x.Shape[0]}, {adapter.OutFeatures}]; got {y.DType} {ShapeText.Format(y.Shape)}.", nameof(y));
        }
    }

    /// <summary>The tensor <paramref name="suffix"/> from an adapter file, checked against the expected shape.</summary>
    public static float[] Take(IReadOnlyDictionary<string, AdapterTensor> tensors, string suffix, params long[] shape)
    {
        if (!tensors.TryGetValue(suffix, out AdapterTensor? t))
        {
            throw new InvalidDataException($"Adapter tensor '{suffix}' is missing (expected shape {ShapeText.Format(shape)}).");
        }

        if (!t.Shape.AsSpan().SequenceEqual(shape))
        {
            throw new InvalidDataException(
                $"Adapter tensor '{suffix}' has shape {ShapeText.Format(t.Shape)} but this layer needs {ShapeText.Format(shape)}.");
        }

        return t.Data;
    }

    /// <summary>weight (d_out × d_in, float64) += s·M·A' with M [d_out, k] and A' [k, d_in]: the low-rank part of every merge.</summary>
    public static void AddLowRank(Span<double> weight, int dOut, int dIn, double s, ReadOnlySpan<double> m, ReadOnlySpan<float> a, int k)
    {
        if (weight.Length != (long)dOut * dIn)
        {
            throw new ArgumentException($"The weight has {weight.Length} values; a {dOut}x{dIn} projection needs {(long)dOut * dIn}.", nameof(weight));
        }

        for (int o = 0; o < dOut; o++)
        {
            Span<double> row = weight.Slice(o * dIn, dIn);
            for (int j = 0; j < k; j++)
            {
                double f = s * m[(o * k) + j];
                if (f == 0)
                {
                    continue;
                }

                ReadOnlySpan<float> aj = a.Slice(j * dIn, dIn);
                for (int c = 0; c < dIn; c++) row[c] += f * aj[c];
            }
        }
    }

    /// <summary>The values as float64.</summary>
    public static double[] ToDouble(float[] values) => [.. values.Select(v => (double)v)];

    /// <summary>A merge of an adapter without a router takes no gate.</summary>
    public static void RequireNoGate(ILinearAdapter adapter, IReadOnlyList<double>? gate)
    {
        if (gate is not null)
        {
            throw new ArgumentException(
                $"A {adapter.Config.Method.DisplayName} adapter has no router; a fixed gate applies to routed methods only.", nameof(gate));
        }
    }

    /// <summary>The fixed gate a routed adapter's merge needs: one value per expert.</summary>
    public static IReadOnlyList<double> RequireGate(ILinearAdapter adapter, int experts, IReadOnlyList<double>? gate)
    {
        if (gate is null)
        {
            throw new InvalidOperationException(
                $"A {adapter.Config.Method.DisplayName} adapter cannot be merged exactly (its router makes ΔW depend on the input x); give a fixed gate vector.");
        }

        return gate.Count == experts
            ? gate
            : throw new ArgumentException($"The gate has {gate.Count} values but the adapter has {experts} experts.", nameof(gate));
    }

    /// <summary>Rows [first, first + count) of a row-major [rows, cols] host array.</summary>
    public static float[] Rows(float[] all, long cols, long first, long count) =>
        all.AsSpan((int)(first * cols), (int)(count * cols)).ToArray();

    public static void Dispose(IEnumerable<IDisposable?> items)
    {
        foreach (IDisposable? item in items)
        {
            item?.Dispose();
        }
    }
}

/// <summary>
/// A saved-activation buffer of [T, columns] F32 that is reallocated only when T changes, so training
/// steps at a fixed sequence length allocate nothing.
/// </summary>
internal sealed class ActivationBuffer(long columns) : IDisposable
{
    private Tensor? _tensor;

    public Tensor For(Device device, long rows)
    {
        if (_tensor is null || _tensor.Shape[0] != rows || !ReferenceEquals(_tensor.Device, device))
        {
            _tensor?.Dispose();
            _tensor = Tensor.Empty(device, DType.F32, rows, columns);
        }

        return _tensor;
    }

    public Tensor Saved(string what) =>
        _tensor ?? throw new InvalidOperationException($"Backward called before forward: no saved {what}.");

    public void Dispose()
    {
        _tensor?.Dispose();
        _tensor = null;
    }
}

/// <summary>
/// PEFT's lora_dropout on an adapter's input: the adapter path sees x_d = dropout(x), kept for its backward,
/// and its input gradient is masked the same way (mor_dropout is counter-based: the same seed gives the same
/// mask) before being added into dx. The frozen base path never sees the mask.
/// </summary>
internal sealed class AdapterDropout(long columns) : IDisposable
{
    private readonly ActivationBuffer _xd = new(columns);
    private ulong? _seed;
    private float _p;

    /// <summary>True when the last forward dropped (its backward must use <see cref="Input"/> and mask dx).</summary>
    public bool Active => _seed is not null;

    /// <summary>A 64-bit key mixed from parts (SplitMix64 steps), for per-step, per-layer dropout seeds.</summary>
    public static ulong Key(params ulong[] parts)
    {
        ulong h = 0x6A09E667F3BCC909UL;
        foreach (ulong part in parts)
        {
            h = Mix(h ^ Mix(part + 0x9E3779B97F4A7C15UL));
        }

        return h;
    }

    /// <summary>A stable 64-bit hash of a module path (FNV-1a), independent of process and runtime.</summary>
    public static ulong Hash(string text)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (char c in text)
        {
            h = (h ^ c) * 0x100000001B3UL;
        }

        return h;
    }

    /// <summary>A zeroed F32 tensor shaped like <paramref name="x"/>, for an input-gradient scratch.</summary>
    public static Tensor ZeroedLike(Tensor x)
    {
        return Tensor.Zeros(x.Device, DType.F32, x.Shape);
    }

    /// <summary>x itself, or x_d = dropout(x) when the adapter has a dropout probability <paramref name="p"/> and the pass a key.</summary>
    public Tensor Apply(float p, ulong? key, Tensor x)
    {
        if (p <= 0f || key is not ulong seed)
        {
            _seed = null;
            return x;
        }

        Tensor xd = _xd.For(x.Device, x.Shape[0]);
        Dropout(p, seed, x, xd);
        (_seed, _p) = (seed, p);
        return xd;
    }

    /// <summary>The input the last forward's adapter path saw.</summary>
    public Tensor Input(Tensor x) => Active ? _xd.Saved("dropped input") : x;

    /// <summary>
    /// Runs an adapter's native backward with the input its forward saw. <paramref name="backward"/> takes that
    /// input and the tensor its input gradient accumulates into: dx itself without dropout, else a zeroed
    /// scratch whose masked value is then added into dx.
    /// </summary>
    public void Backward(Tensor x, Tensor? dx, Action<Tensor, Tensor?> backward)
    {
        if (!Active || dx is null)
        {
            backward(Input(x), dx);
            return;
        }

        using Tensor dxd = ZeroedLike(x);
        backward(Input(x), dxd);
        AddMasked(dxd, dx);
    }

    /// <summary>dx += mask(g): the dropout's backward, the forward's mask (g is masked in place).</summary>
    public void AddMasked(Tensor g, Tensor dx)
    {
        Dropout(_p, _seed ?? throw new InvalidOperationException("Dropout backward without a dropped forward."), g, g);
        Ops.Axpy(1f, g, dx);
    }

    public void Dispose() => _xd.Dispose();

    private static void Dropout(float p, ulong seed, Tensor x, Tensor output) =>
        NativeCall.Check(
            NativeMethods.mor_dropout(x.Device.Context, StreamHandle.Default, x.Numel, p, seed, 0, x.Handle, output.Handle),
            "mor_dropout");

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
