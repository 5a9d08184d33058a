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
        ArgumentNullException.ThrowIfNull(baseLayer);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (baseLayer.InFeatures != adapter.InFeatures || baseLayer.OutFeatures != adapter.OutFeatures)
        {
            throw new ArgumentException(
                $"{adapter.Kind} adapter is {adapter.OutFeatures}x{adapter.InFeatures} but layer '{baseLayer.Name}' is {baseLayer.OutFeatures}x{baseLayer.InFeatures}.",
                nameof(baseLayer));
        }

        if (x.Rank != 2 || x.Shape[1] != adapter.InFeatures || x.DType != DType.F32)
        {
            throw new ArgumentException($"{adapter.Kind} adapter input must be F32 [T, {adapter.InFeatures}]; got {x.DType} {ShapeText.Format(x.Shape)}.", nameof(x));
        }

        if (y.Rank != 2 || y.Shape[0] != x.Shape[0] || y.Shape[1] != adapter.OutFeatures || y.DType != DType.F32)
        {
            throw new ArgumentException($"{adapter.Kind} adapter output must be F32 [{x.Shape[0]}, {adapter.OutFeatures}]; got {y.DType} {ShapeText.Format(y.Shape)}.", nameof(y));
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

    /// <summary>Rows [first, first + count) of a row-major [rows, cols] host array.</summary>
    public static float[] Rows(float[] all, long cols, long first, long count) =>
        all.AsSpan((int)(first * cols), (int)(count * cols)).ToArray();

    /// <summary>dst ← src, same dtype and element count, without a host round trip.</summary>
    public static void CopyOnDevice(Tensor src, Tensor dst) =>
        MoR.Interop.NativeCall.Check(
            MoR.Interop.NativeMethods.mor_buffer_copy(dst.Handle, 0, src.Handle, 0, src.Numel, MoR.Interop.StreamHandle.Default),
            "mor_buffer_copy");

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
