using MoR.Adapters;
using MoR.Modules;

namespace MoR.Model;

/// <summary>
/// Folds adapters into the frozen weights, so the model runs (and is saved) without them (MOR.md §1, §4):
/// LoRA <c>W + s·B·A</c>; DoRA <c>m ⊙ (W + s·B·A) / ‖W + s·B·A‖_row</c>; MoR and MoE-LoRA only for a fixed
/// gate vector g (their router makes ΔW depend on x): MoR <c>W + s·Σ_i g_i·diag(ω_B[i])·B·diag(ω_A[i])·A</c>,
/// MoE-LoRA <c>W + s·Σ_i g_i·B_i·A_i</c>. Sums are taken in float64 and rounded once.
/// </summary>
public static class AdapterMerger
{
    /// <summary>Whether <paramref name="kind"/> needs a fixed gate to be merged.</summary>
    /// <param name="kind">The adapter kind.</param>
    /// <returns>True for MoR and MoE-LoRA.</returns>
    public static bool NeedsGate(AdapterKind kind) => kind is AdapterKind.MoR or AdapterKind.MoELoRA;

    /// <summary>The uniform gate 1/N: what a zero router gives for every token.</summary>
    /// <param name="experts">N.</param>
    /// <returns>N values of 1/N.</returns>
    public static double[] MeanGate(int experts) => [.. Enumerable.Repeat(1.0 / experts, experts)];

    /// <summary>
    /// Replaces the base weight of every adapted projection by its merged weight, then detaches and disposes
    /// the adapters. Checks every adapter first, so a bad gate changes nothing.
    /// </summary>
    /// <param name="model">The model with adapters attached.</param>
    /// <param name="gate">The fixed gate for MoR/MoE-LoRA (length = the expert count), or null for LoRA/DoRA.</param>
    /// <returns>The merged module paths.</returns>
    /// <exception cref="InvalidOperationException">No adapter is attached, or a MoR/MoE-LoRA adapter has no gate.</exception>
    /// <exception cref="ArgumentException">The gate's length is not the adapter's expert count, or a gate was given for LoRA/DoRA.</exception>
    public static IReadOnlyList<string> MergeInto(LlamaModel model, IReadOnlyList<double>? gate = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var adapted = model.Linears.Where(kv => kv.Value.Adapter is not null).ToList();
        if (adapted.Count == 0)
        {
            throw new InvalidOperationException("The model has no adapter to merge.");
        }

        foreach ((string path, AdaptedLinear linear) in adapted)
        {
            CheckGate(path, linear.Adapter!, gate);
        }

        foreach ((_, AdaptedLinear linear) in adapted)
        {
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
        return [.. adapted.Select(kv => kv.Key)];
    }

    /// <summary>The merged weight of one adapted projection (row-major d_out × d_in).</summary>
    /// <param name="adapter">The adapter.</param>
    /// <param name="weight">The frozen weight W, d_out × d_in.</param>
    /// <param name="gate">The fixed gate for MoR/MoE-LoRA; null for LoRA/DoRA.</param>
    /// <returns>A new array.</returns>
    public static float[] MergedWeight(ILinearAdapter adapter, ReadOnlySpan<float> weight, IReadOnlyList<double>? gate = null)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        CheckGate(adapter.Kind.ToString(), adapter, gate);
        int dOut = adapter.OutFeatures, dIn = adapter.InFeatures, r = adapter.Options.Rank, n = adapter.Options.Experts;
        if (weight.Length != (long)dOut * dIn)
        {
            throw new ArgumentException($"The weight has {weight.Length} values; a {dOut}x{dIn} projection needs {(long)dOut * dIn}.", nameof(weight));
        }

        double s = adapter.Options.Scale;
        Dictionary<string, float[]> t = adapter.Export().ToDictionary(x => x.Suffix, x => x.Data, StringComparer.Ordinal);

        // Every kind is W + s·M·A' for some d_out × K matrix M and K × d_in matrix A'.
        double[] m;
        float[] a;
        int k;
        switch (adapter.Kind)
        {
            case AdapterKind.LoRA:
            case AdapterKind.DoRA:
                (k, a, m) = (r, t["lora_A.weight"], [.. t["lora_B.weight"].Select(v => (double)v)]);
                break;
            case AdapterKind.MoR:
                {
                    // M[o, c] = Σ_i g_i ω_B[i, o] B[o, c] ω_A[i, c]   (one shared A)
                    float[] b = t["lora_B.weight"], wa = t["mor_omega_A"], wb = t["mor_omega_B"];
                    (k, a, m) = (r, t["lora_A.weight"], new double[(long)dOut * r]);
                    for (int o = 0; o < dOut; o++)
                    {
                        for (int c = 0; c < r; c++)
                        {
                            double sum = 0;
                            for (int i = 0; i < n; i++) sum += gate![i] * wb[((long)i * dOut) + o] * wa[(i * r) + c];
                            m[((long)o * r) + c] = sum * b[((long)o * r) + c];
                        }
                    }

                    break;
                }

            case AdapterKind.MoELoRA:
                {
                    // [g_1 B_1 | … | g_N B_N] · [A_1; …; A_N]: moe_lora_A [N, r, d_in] is already the stacked A'.
                    float[] b = t["moe_lora_B"];
                    (k, a, m) = (n * r, t["moe_lora_A"], new double[(long)dOut * n * r]);
                    for (int o = 0; o < dOut; o++)
                    {
                        for (int i = 0; i < n; i++)
                        {
                            for (int c = 0; c < r; c++)
                            {
                                m[((long)o * n * r) + (i * r) + c] = gate![i] * b[(((long)i * dOut) + o) * r + c];
                            }
                        }
                    }

                    break;
                }

            default:
                throw new NotSupportedException($"Merging a {adapter.Kind} adapter is not supported.");
        }

        float[] magnitude = adapter.Kind == AdapterKind.DoRA ? t["lora_magnitude_vector"] : [];
        float[] merged = new float[weight.Length];
        double[] row = new double[dIn];
        for (int o = 0; o < dOut; o++)
        {
            for (int c = 0; c < dIn; c++) row[c] = weight[(o * dIn) + c];
            for (int j = 0; j < k; j++)
            {
                double f = s * m[((long)o * k) + j];
                if (f == 0) continue;
                for (int c = 0; c < dIn; c++) row[c] += f * a[((long)j * dIn) + c];
            }

            double scale = 1;
            if (adapter.Kind == AdapterKind.DoRA)
            {
                double norm2 = 0;
                for (int c = 0; c < dIn; c++) norm2 += row[c] * row[c];
                scale = magnitude[o] / Math.Sqrt(norm2);
            }

            for (int c = 0; c < dIn; c++) merged[(o * dIn) + c] = (float)(scale * row[c]);
        }

        return merged;
    }

    private static void CheckGate(string where, ILinearAdapter adapter, IReadOnlyList<double>? gate)
    {
        if (NeedsGate(adapter.Kind))
        {
            if (gate is null)
            {
                throw new InvalidOperationException(
                    $"'{where}': a {adapter.Kind} adapter cannot be merged exactly (its router makes ΔW depend on the input x); give a fixed gate vector.");
            }

            if (gate.Count != adapter.Options.Experts)
            {
                throw new ArgumentException($"'{where}': the gate has {gate.Count} values but the adapter has {adapter.Options.Experts} experts.", nameof(gate));
            }
        }
        else if (gate is not null)
        {
            throw new ArgumentException($"'{where}': a {adapter.Kind} adapter has no router; a fixed gate applies to MoR and MoE-LoRA only.", nameof(gate));
        }
    }
}
