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
    // Wide enough for every method's default structure (MELoRA's 8 mini blocks need 8 inputs and outputs); the check
    // samples at most 8 entries per tensor, so the width costs nothing.
    private const int T = 3, In = 24, Out = 16, Rank = 2, Experts = 3;
    private const float Step = 1e-2f;

    /// <summary>One checked tensor: the largest error relative to max(1, |gradient|).</summary>
    public sealed record Result(AdapterMethod Method, string Tensor, int Checked, double MaxError)
    {
        /// <summary>Float32 central differences with h = 1e-2 agree to about 1e-3 here; 2e-2 leaves room without hiding a wrong formula.</summary>
        public bool Passed => MaxError < 2e-2;
    }

    public static List<Result> Run(Device device, AdapterMethod method)
    {
        var rng = new SeededRandom(42);
        float[] w = new float[Out * In], x = new float[T * In], c = new float[T * Out];
        rng.FillUniform(w, -0.5, 0.5);
        rng.FillUniform(x, -1, 1);
        rng.FillUniform(c, -1, 1);
        var linear = new Linear("model.layers.0.mlp.up_proj", Tensor.FromSpan<float>(device, w, Out, In));
        AdapterConfig config = method.DefaultConfig with { Rank = Rank, Alpha = 2f * Rank };
        if (config is RoutedAdapterConfig routed)
        {
            config = routed with { Experts = Experts };
        }

        ILinearAdapter adapter = method.Create(config, linear, seed: 7);
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
        layer.Forward(xt, y, AdapterPass.Inference);
        layer.Backward(xt, dy, dx, AdapterPass.Inference);

        double Loss()
        {
            layer.Forward(xt, y, AdapterPass.Inference);
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
            if (method.DetachedGradients.Contains(p.Name))
            {
                // By design not the derivative of the forward (DoRA's detached row norm, docs/METHODS.md DoRA.2).
                continue;
            }

            float[] grad = p.Grad.ToArray<float>();
            float[] values = p.Value.ToArray<float>();
            results.Add(Compare(method, p.Name, grad, values, v => { p.Value.CopyFrom<float>(v); adapter.OnParametersChanged(); }, Loss));
        }

        results.Add(Compare(method, "x (input gradient)", dx.ToArray<float>(), x, v => xt.CopyFrom<float>(v), Loss));
        return results;
    }

    private static Result Compare(AdapterMethod method, string name, float[] grad, float[] values, Action<float[]> set, Func<double> loss)
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

        return new Result(method, name, count, worst);
    }
}
