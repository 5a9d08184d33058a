namespace MoR.Adapters;

/// <summary>
/// Folds adapters into the frozen weights, so the model runs (and is saved) without them. Each adapter merges itself
/// exactly (<see cref="ILinearAdapter.MergeInto"/>, docs/METHODS.md); routed methods only for a fixed gate vector (their
/// router makes ΔW depend on x). Sums are taken in float64 and rounded once.
/// </summary>
public static class AdapterMerger
{
    /// <summary>The uniform gate 1/N: what a zero router gives for every token.</summary>
    /// <param name="experts">N.</param>
    /// <returns>N values of 1/N.</returns>
    public static double[] MeanGate(int experts) => [.. Enumerable.Repeat(1.0 / experts, experts)];

    /// <summary>
    /// Replaces the base weight of every adapted projection by its merged weight, then detaches and disposes the
    /// adapters. Checks every adapter first, so a bad gate changes nothing.
    /// </summary>
    /// <param name="model">The model with adapters attached.</param>
    /// <param name="gate">The fixed gate for routed methods (length = the expert count), or null.</param>
    /// <returns>The merged module paths.</returns>
    /// <exception cref="InvalidOperationException">No adapter is attached, or a routed adapter has no gate.</exception>
    /// <exception cref="ArgumentException">The gate's length is not the adapter's expert count, or a gate was given for an adapter without a router.</exception>
    public static IReadOnlyList<string> MergeInto(IAdaptableModel model, IReadOnlyList<double>? gate = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        IReadOnlyList<(string Path, ILinearAdapter Adapter)> adapted = AdapterInjector.Attached(model);
        if (adapted.Count == 0)
        {
            throw new InvalidOperationException("The model has no adapter to merge.");
        }

        foreach ((string path, ILinearAdapter adapter) in adapted)
        {
            CheckGate(path, adapter, gate);
        }

        foreach ((string path, _) in adapted)
        {
            AdaptedLinear linear = model.Linears[path];
            Tensor weight = linear.Base.Weight;
            float[] w;
            using (Tensor f32 = weight.To(DType.F32))
            {
                w = f32.ToArray<float>();
            }

            float[] merged = MergedWeight(linear.Adapter!, w, gate);
            if (weight.DType == DType.F32)
            {
                weight.CopyFrom<float>(merged);
            }
            else
            {
                using Tensor f32 = Tensor.FromSpan<float>(weight.Device, merged, weight.Shape);
                using Tensor converted = f32.To(weight.DType);
                byte[] bytes = new byte[weight.Numel * weight.DType.ElementSize];
                converted.CopyToBytes(bytes);
                weight.CopyFromBytes(bytes);
            }
        }

        AdapterInjector.DetachAll(model);
        return [.. adapted.Select(a => a.Path)];
    }

    /// <summary>The merged weight of one adapted projection (row-major d_out × d_in).</summary>
    /// <param name="adapter">The adapter.</param>
    /// <param name="weight">The frozen weight W, d_out × d_in.</param>
    /// <param name="gate">The fixed gate for a routed adapter; null otherwise.</param>
    /// <returns>A new array.</returns>
    public static float[] MergedWeight(ILinearAdapter adapter, ReadOnlySpan<float> weight, IReadOnlyList<double>? gate = null)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        CheckGate(adapter.Config.Method.DisplayName, adapter, gate);
        if (weight.Length != (long)adapter.OutFeatures * adapter.InFeatures)
        {
            throw new ArgumentException(
                $"The weight has {weight.Length} values; a {adapter.OutFeatures}x{adapter.InFeatures} projection needs {(long)adapter.OutFeatures * adapter.InFeatures}.",
                nameof(weight));
        }

        double[] w = new double[weight.Length];
        for (int i = 0; i < w.Length; i++) w[i] = weight[i];
        adapter.MergeInto(w, gate);
        float[] merged = new float[w.Length];
        for (int i = 0; i < w.Length; i++) merged[i] = (float)w[i];
        return merged;
    }

    private static void CheckGate(string where, ILinearAdapter adapter, IReadOnlyList<double>? gate)
    {
        if (adapter.Config is RoutedAdapterConfig routed)
        {
            if (gate is null)
            {
                throw new InvalidOperationException(
                    $"'{where}': a {adapter.Config.Method.DisplayName} adapter cannot be merged exactly (its router makes ΔW depend on the input x); give a fixed gate vector.");
            }

            if (gate.Count != routed.Experts)
            {
                throw new ArgumentException($"'{where}': the gate has {gate.Count} values but the adapter has {routed.Experts} experts.", nameof(gate));
            }
        }
        else if (gate is not null)
        {
            throw new ArgumentException(
                $"'{where}': a {adapter.Config.Method.DisplayName} adapter has no router; a fixed gate applies to routed methods ({string.Join(", ", AdapterMethods.All.Where(m => m.DefaultConfig.IsRouted).Select(m => m.DisplayName))}) only.",
                nameof(gate));
        }
    }
}
