using MoR.Adapters;
using MoR.Modules;
using Xunit;

namespace MoR.Tests.Adapters;

/// <summary>
/// The router balance term (RouterBalanceLoss, docs/TRAINING.md): its value, and the gradient it adds through the
/// routed adapters' backward, against central finite differences of a float64 reference of Σ dy·y + w·N·Σ_i P_i².
/// </summary>
public sealed partial class AdapterTests
{
    /// <summary>B = N·Σ_i P_i², P_i = mean over tokens of softmax(W_g·x_t)_i, from the file-layout router and x.</summary>
    private static double BalanceReference(double[] router, double[] x, int t, int din, int n)
    {
        double[] p = new double[n];
        for (int tok = 0; tok < t; tok++)
        {
            double[] z = new double[n];
            for (int i = 0; i < n; i++)
                for (int c = 0; c < din; c++) z[i] += router[(i * din) + c] * x[(tok * din) + c];
            double mx = z.Max(), sum = z.Sum(v => Math.Exp(v - mx));
            for (int i = 0; i < n; i++) p[i] += Math.Exp(z[i] - mx) / sum / t;
        }

        return n * p.Sum(v => v * v);
    }

    [Fact]
    public void BalanceValueIsOneAtUniformGatesAndNAtOneHotGatesWithZeroGradientAtUniform()
    {
        const int n = 4, t = 5;
        float[] uniform = Enumerable.Repeat(1f / n, t * n).ToArray();
        float[] dz = new float[t * n];
        Assert.Equal(1.0, RouterBalanceLoss.Compute(uniform, n, 0.7, dz), 12);
        Assert.All(dz, v => Assert.Equal(0f, v));
        float[] oneHot = new float[t * n];
        for (int tok = 0; tok < t; tok++) oneHot[(tok * n) + 2] = 1f;
        Assert.Equal(n, RouterBalanceLoss.Compute(oneHot, n, 1, []), 12);
        Assert.Throws<ArgumentException>(() => RouterBalanceLoss.Compute(new float[7], n, 1, []));
    }

    [Theory]
    [InlineData("mor", 0f)]
    [InlineData("moe-lora", 0f)]
    [InlineData("mor", 0.4f)]
    public void BalanceGradientOfRouterAndInputMatchesFiniteDifferences(string method, float dropout)
    {
        const float weight = 0.37f;
        (AdaptedLinear layer, double[] w) = Build(method, T, Din, Dout, R, N, seed: 9, dropout);
        using (layer)
        {
            var routed = (IRoutedAdapter)layer.Adapter!;
            // Router weights of ±6 (Build gives ±0.5) keep the gates far from uniform, where the term has a gradient.
            var tensors = routed.Export().ToDictionary(e => e.Suffix, e => e.Suffix.Contains("router") ? e with { Data = F(Random(e.Data.Length, 21, 6.0)) } : e);
            routed.Import(tensors);
            var pass = new AdapterPass(dropout > 0 ? 0xBA1A5CEUL : null, weight);

            // x in [0, 1): tokens share a direction, so their gates do not average out to uniform usage.
            double[] x = [.. Random(T * Din, 11).Select(v => v + 0.5)], dy = Random(T * Dout, 12), dx0 = Random(T * Din, 13);
            using Tensor xt = Tensor.FromSpan<float>(Device.Cpu, F(x), T, Din);
            using Tensor yt = Tensor.Zeros(Device.Cpu, DType.F32, T, Dout);
            using Tensor dyt = Tensor.FromSpan<float>(Device.Cpu, F(dy), T, Dout);
            using Tensor dxt = Tensor.FromSpan<float>(Device.Cpu, F(dx0), T, Din);
            layer.Forward(xt, yt, pass);
            layer.Backward(xt, dyt, dxt, pass);

            // The mask the adapter path saw (ones without dropout): x_d = x ⊙ mask feeds the router and the adapter.
            double[] mask = Enumerable.Repeat(1.0, T * Din).ToArray();
            if (dropout > 0)
            {
                using Tensor ones = Tensor.FromSpan<float>(Device.Cpu, Enumerable.Repeat(1f, T * Din).ToArray(), T, Din);
                using Tensor maskT = Tensor.Zeros(Device.Cpu, DType.F32, T, Din);
                MoR.Interop.NativeCall.Check(
                    MoR.Interop.NativeMethods.mor_dropout(Device.Cpu.Context, MoR.Interop.StreamHandle.Default, T * Din, dropout, pass.DropoutKey(layer.Name)!.Value, 0, ones.Handle, maskT.Handle),
                    "mor_dropout");
                mask = D(maskT.ToArray<float>());
            }

            Func<double[][], double[]> adapterForward = Reference(layer, w, T, Din, Dout, R, N);
            int router = routed.Export().Select(e => e.Suffix).ToList().FindIndex(s => s.Contains("router", StringComparison.Ordinal));  // Export order: the router is mor_router.weight / moe_router.weight
            // Outputs [y ; B], weighted by [dy ; weight]: the finite difference of Σ dy·y + weight·B.
            double[] Objective(double[][] q)
            {
                double[] xs = q[^1], xd = xs.Select((v, i) => v * mask[i]).ToArray();
                double[] y = adapterForward([.. q[..^1], xd]);
                double[] yb = AdapterReference.Base(w, xs, T, Din, Dout), ybd = AdapterReference.Base(w, xd, T, Din, Dout);
                for (int i = 0; i < y.Length; i++) y[i] += yb[i] - ybd[i];  // the frozen base sees x, not x_d
                return [.. y, BalanceReference(q[router], xd, T, Din, N)];
            }

            double[][] p = [.. routed.Export().Select(e => D(e.Data)), D(F(x))];
            double[] weights = [.. dy, weight];
            double b = BalanceReference(p[router], p[^1].Select((v, i) => v * mask[i]).ToArray(), T, Din, N);
            Assert.True(b > 1.1, $"gates too close to uniform for a meaningful check: B = {b}");
            Assert.Equal(b, routed.LastRouterBalance, 5);

            double[][] analytic = [.. GradientsInFileLayout(routed), D(dxt.ToArray<float>()).Select((v, i) => v - (float)dx0[i]).ToArray()];
            foreach (int k in new[] { router, p.Length - 1, 0 })
            {
                double[] numeric = Enumerable.Range(0, p[k].Length).Select(i => AdapterReference.Numeric(Objective, p, k, i, weights)).ToArray();
                AssertClose(numeric, analytic[k], 1e-4, $"{method} balance gradient {k} ({(k < p.Length - 1 ? routed.Export()[k].Suffix : "dx")})");
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestAdapters.RoutedMethods), MemberType = typeof(TestAdapters))]
    public void ZeroBalanceWeightLeavesGradientsBitIdentical(string method)
    {
        (AdaptedLinear plain, _) = Build(method, T, Din, Dout, R, N, seed: 5);
        (AdaptedLinear toggled, _) = Build(method, T, Din, Dout, R, N, seed: 5);
        using (plain)
        using (toggled)
        {
            using Tensor x = Tensor.FromSpan<float>(Device.Cpu, F(Random(T * Din, 1)), T, Din);
            using Tensor dy = Tensor.FromSpan<float>(Device.Cpu, F(Random(T * Dout, 2)), T, Dout);
            using Tensor y = Tensor.Zeros(Device.Cpu, DType.F32, T, Dout);
            using Tensor dxPlain = Tensor.Zeros(Device.Cpu, DType.F32, T, Din), dxToggled = Tensor.Zeros(Device.Cpu, DType.F32, T, Din);
            var routed = (IRoutedAdapter)toggled.Adapter!;

            // A pass with the term on, then gradients cleared and the weight back to 0.
            var balanced = new AdapterPass(null, 0.5f);
            toggled.Forward(x, y, balanced);
            toggled.Backward(x, dy, dxToggled, balanced);
            foreach (Parameter param in routed.Parameters) param.ZeroGrad();
            dxToggled.CopyFrom<float>(new float[T * Din]);

            plain.Forward(x, y, AdapterPass.Inference);
            plain.Backward(x, dy, dxPlain, AdapterPass.Inference);
            toggled.Forward(x, y, AdapterPass.Inference);
            toggled.Backward(x, dy, dxToggled, AdapterPass.Inference);
            Assert.Equal(dxPlain.ToArray<float>(), dxToggled.ToArray<float>());
            foreach ((Parameter a, Parameter b) in plain.Adapter!.Parameters.Zip(routed.Parameters))
            {
                Assert.Equal(a.Grad.ToArray<float>(), b.Grad.ToArray<float>());
            }

            Assert.True(double.IsNaN(((IRoutedAdapter)plain.Adapter).LastRouterBalance));
        }
    }
}
