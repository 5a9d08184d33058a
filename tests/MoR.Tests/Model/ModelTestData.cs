using MoR.Adapters;
using MoR.Model;
using MoR.Modules;
using MoR.Numerics;

namespace MoR.Tests.Model;

/// <summary>Shared inputs for the model tests.</summary>
internal static class ModelTestData
{
    public static int[] Ids(int count, int vocab, ulong seed)
    {
        var rng = new SeededRandom(seed);
        return [.. Enumerable.Range(0, count).Select(_ => rng.NextInt(vocab))];
    }

    /// <summary>Random targets with some positions ignored (-100).</summary>
    public static int[] Targets(int count, int vocab, ulong seed)
    {
        var rng = new SeededRandom(seed);
        return [.. Enumerable.Range(0, count).Select(i => i % 5 == 3 ? -100 : rng.NextInt(vocab))];
    }

    /// <summary>Replaces an adapter's parameters with random values of useful size (B ≠ 0, ω near 1, m near the row norms).</summary>
    public static void Randomize(ILinearAdapter adapter, ulong seed)
    {
        var rng = new SeededRandom(seed);
        var tensors = new Dictionary<string, AdapterTensor>(StringComparer.Ordinal);
        foreach (AdapterTensor t in adapter.Export())
        {
            float[] data = new float[t.Data.Length];
            rng.FillNormal(data, 0.2);
            if (t.Suffix.StartsWith("mor_omega", StringComparison.Ordinal) || t.Suffix == "lora_magnitude_vector")
            {
                for (int i = 0; i < data.Length; i++) data[i] = t.Data[i] * (1 + data[i]);
            }

            tensors[t.Suffix] = t with { Data = data };
        }

        adapter.Import(tensors);
        adapter.OnParametersChanged();
    }

    public static double[] ToDouble(Parameter p) => [.. p.Value.ToArray<float>().Select(v => (double)v)];

    public static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<double> b)
    {
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }

    public static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }
}
