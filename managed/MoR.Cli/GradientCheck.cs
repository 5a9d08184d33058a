using MoR.Adapters;
using MoR.Modules;
using MoR.Numerics;

namespace MoR.Cli;

/// <summary>
/// The self-test's gradient check: a small adapted layer on the chosen device, analytic gradients of
/// L = Σ c ⊙ y (so dy = c) against central finite differences, for every parameter and the input.
/// </summary>
internal static class GradientCheck
{
    private const int T = 3, In = 8, Out = 6, Rank = 2, Experts = 3;
    private const float Step = 1e-2f;

    /// <summary>One checked tensor: the largest error relative to max(1, |gradient|).</summary>
    public sealed record Result(AdapterKind Kind, string Tensor, int Checked, double MaxError)
    {
        /// <summary>Float32 central differences with h = 1e-2 agree to about 1e-3 here; 2e-2 leaves room without hiding a wrong formula.</summary>
        public bool Passed => MaxError < 2e-2;
    }

    public static List<Result> Run(Device device, AdapterKind kind)
    {
        var rng = new SeededRandom(42);
        float[] w = new float[Out * In], x = new float[T * In], c = new float[T * Out];
        rng.FillUniform(w, -0.5, 0.5);
        rng.FillUniform(x, -1, 1);
        rng.FillUniform(c, -1, 1);
        var linear = new Linear("model.layers.0.mlp.up_proj", Tensor.FromSpan<float>(device, w, Out, In));
        var options = new AdapterOptions(kind, Rank, 2f * Rank, Experts, RouterInit.Normal, Seed: 7);
        ILinearAdapter adapter = kind switch
        {
            AdapterKind.LoRA => new LoRAAdapter(device, In, Out, options),
            AdapterKind.DoRA => new DoRAAdapter(linear, options),
            AdapterKind.MoELoRA => new MoELoRAAdapter(device, In, Out, options),
            _ => new MoRAdapter(device, In, Out, options),
        };
        using var layer = new AdaptedLinear(linear, adapter);
        foreach (Parameter p in adapter.Parameters)
        {
            // Random values everywhere: B = 0 at initialisation would make most gradients trivially zero.
            float[] v = new float[p.Numel];
            rng.FillUniform(v, 0.3, 1.0);
            p.Value.CopyFrom<float>(v);
        }

        adapter.OnParametersChanged();
        using Tensor xt = Tensor.FromSpan<float>(device, x, T, In);
        using Tensor y = Tensor.Empty(device, DType.F32, T, Out);
        using Tensor dy = Tensor.FromSpan<float>(device, c, T, Out);
        using Tensor dx = Tensor.Zeros(device, DType.F32, T, In);
        layer.Forward(xt, y);
        layer.Backward(xt, dy, dx);

        double Loss()
        {
            layer.Forward(xt, y);
            float[] yv = y.ToArray<float>();
            double sum = 0;
            for (int i = 0; i < yv.Length; i++)
            {
                sum += (double)yv[i] * c[i];
            }

            return sum;
        }

        var results = new List<Result>();
        foreach (Parameter p in adapter.Parameters)
        {
            if (kind == AdapterKind.DoRA && p.Name is "lora_A" or "lora_B")
            {
                // DoRA treats the row norm as a constant in backward (PEFT's default, MOR.md §4), so
                // finite differences through the real norm are not expected to match A's and B's gradients.
                continue;
            }

            float[] grad = p.Grad.ToArray<float>();
            float[] values = p.Value.ToArray<float>();
            results.Add(Compare(kind, p.Name, grad, values, v => { p.Value.CopyFrom<float>(v); adapter.OnParametersChanged(); }, Loss));
        }

        results.Add(Compare(kind, "x (input gradient)", dx.ToArray<float>(), x, v => xt.CopyFrom<float>(v), Loss));
        return results;
    }

    private static Result Compare(AdapterKind kind, string name, float[] grad, float[] values, Action<float[]> set, Func<double> loss)
    {
        // A spread of at most 8 entries per tensor keeps the check fast on any size.
        int stride = Math.Max(1, values.Length / 8);
        double worst = 0;
        int count = 0;
        for (int i = 0; i < values.Length; i += stride)
        {
            float original = values[i];
            values[i] = original + Step;
            set(values);
            double plus = loss();
            values[i] = original - Step;
            set(values);
            double minus = loss();
            values[i] = original;
            set(values);
            double numeric = (plus - minus) / (2 * Step);
            worst = Math.Max(worst, Math.Abs(numeric - grad[i]) / Math.Max(1, Math.Abs(grad[i])));
            count++;
        }

        return new Result(kind, name, count, worst);
    }
}
