using MoR.Adapters;
using MoR.Modules;
using MoR.Numerics;
using Xunit;

namespace MoR.Tests.Adapters;

/// <summary>
/// The managed adapters end to end through the real native library: output and every gradient of an
/// <see cref="AdaptedLinear"/> against a float64 reference and its central finite differences, the
/// initialisation properties of MOR.md §5, parameter counts, the PEFT-style export/import, and errors.
/// </summary>
public sealed partial class AdapterTests
{
    private const int T = 3, Din = 5, Dout = 4, R = 2, N = 3;

    private static double[] Random(int n, ulong seed, double scale = 0.5)
    {
        var rng = new SeededRandom(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Uniform(-scale, scale)).ToArray();
    }

    private static float[] F(double[] v) => v.Select(x => (float)x).ToArray();

    private static double[] D(float[] v) => v.Select(x => (double)x).ToArray();

    /// <summary>A layer with random frozen W, the adapter, and random (non-zero) adapter parameters.</summary>
    private static (AdaptedLinear Layer, double[] W) Build(string method, int t, int din, int dout, int r, int n, ulong seed, float dropout = 0f)
    {
        double[] w = Random(dout * din, seed);
        var linear = new Linear("model.layers.0.mlp.up_proj", Tensor.FromSpan<float>(Device.Cpu, F(w), dout, din));
        AdapterConfig config = TestAdapters.Config(method, rank: r, alpha: 2f * r, experts: n, dropout: dropout);
        ILinearAdapter adapter = config.Method.Create(config, linear, seed);
        // Random values for every tensor (B = 0 at init would hide most of the math).
        var tensors = adapter.Export().ToDictionary(
            e => e.Suffix,
            e => e with { Data = F(Random(e.Data.Length, seed + (ulong)e.Suffix.Length, e.Suffix.Contains("omega") || e.Suffix.Contains("magnitude") ? 1.5 : 0.5)) });
        adapter.Import(tensors);
        return (new AdaptedLinear(linear, adapter), w);
    }

    /// <summary>The file-layout parameters (Export order) plus x last, and the matching reference forward.</summary>
    /// <remarks>A method without a case here fails every theory over the registry until it gets its reference.</remarks>
    private static Func<double[][], double[]> Reference(AdaptedLinear layer, double[] w, int t, int din, int dout, int r, int n)
    {
        AdapterConfig config = layer.Adapter!.Config;
        double s = config.Scale;
        switch (config)
        {
            case LoRAConfig:
                return p => AdapterReference.LoRA([p[0], p[1]], w, p[^1], t, din, dout, r, s);
            case MoRConfig:
                // Export order: lora_A, lora_B, mor_omega_A, mor_omega_B, mor_router
                return p => AdapterReference.MoR([p[0], p[4], p[2], p[1], p[3]], w, p[^1], t, din, dout, r, n, s);
            case MoELoRAConfig:
                // Export order: moe_lora_A, moe_lora_B, moe_router
                return p => AdapterReference.MoELoRA([p[0], p[2], p[1]], w, p[^1], t, din, dout, r, n, s);
            case DoRAConfig:
                {
                    var e = layer.Adapter.Export();
                    double[] norm = AdapterReference.DoRANorm(D(e[0].Data), D(e[1].Data), w, din, dout, r, s);
                    return p => AdapterReference.DoRA([p[0], p[1], p[2]], norm, w, p[^1], t, din, dout, r, s);
                }

            case MELoRAConfig m:
                // Export order: lora_A.0 … lora_A.(n-1), lora_B.0 … lora_B.(n-1)
                return p => AdapterReference.MELoRA([.. p[..m.Blocks].SelectMany(v => v)], [.. p[m.Blocks..(2 * m.Blocks)].SelectMany(v => v)], w, p[^1], t, din, dout, r, m.Blocks, s);
            default:
                throw new Xunit.Sdk.XunitException($"No float64 reference for {config.Method.DisplayName}: add one to AdapterTests.Reference.");
        }
    }

    /// <summary>The accumulated gradients, re-expressed in Export's layout.</summary>
    private static double[][] GradientsInFileLayout(ILinearAdapter adapter)
    {
        switch (adapter)
        {
            case MoRAdapter m:
                {
                    float[] ag = m.AG.Grad.ToArray<float>();
                    int r = m.Config.Rank, din = m.InFeatures;
                    return [D(ag[..(r * din)]), D(m.B.Grad.ToArray<float>()), D(m.OmegaA.Grad.ToArray<float>()),
                            D(m.OmegaB.Grad.ToArray<float>()), D(ag[(r * din)..])];
                }
            case MoELoRAAdapter e:
                {
                    float[] ag = e.AG.Grad.ToArray<float>(), bcat = e.BCat.Grad.ToArray<float>();
                    int r = e.Config.Rank, n = e.Config.Experts, din = e.InFeatures, dout = e.OutFeatures;
                    double[] b = new double[bcat.Length];
                    for (int j = 0; j < dout; j++)
                        for (int i = 0; i < n; i++)
                            for (int k = 0; k < r; k++) b[(((i * dout) + j) * r) + k] = bcat[(j * n * r) + (i * r) + k];
                    return [D(ag[..(n * r * din)]), b, D(ag[(n * r * din)..])];
                }
            case MELoRAAdapter m:
                {
                    // [n, r, p] and [n, q, r] split into the per-block file tensors.
                    int n = m.Config.Blocks;
                    double[] a = D(m.A.Grad.ToArray<float>()), b = D(m.B.Grad.ToArray<float>());
                    return [.. a.Chunk(a.Length / n), .. b.Chunk(b.Length / n)];
                }
            default:
                return adapter.Parameters.Select(p => D(p.Grad.ToArray<float>())).ToArray();
        }
    }

    [Theory]
    [MemberData(nameof(TestAdapters.Methods), MemberType = typeof(TestAdapters))]
    public void ForwardAndEveryGradientMatchFloat64ReferenceAndFiniteDifferences(string method)
    {
        (AdaptedLinear layer, double[] w) = Build(method, T, Din, Dout, R, N, seed: 7);
        using (layer)
        {
            double[] x = Random(T * Din, 11), dy = Random(T * Dout, 12), dx0 = Random(T * Din, 13);
            using Tensor xt = Tensor.FromSpan<float>(Device.Cpu, F(x), T, Din);
            using Tensor yt = Tensor.Zeros(Device.Cpu, DType.F32, T, Dout);
            using Tensor dyt = Tensor.FromSpan<float>(Device.Cpu, F(dy), T, Dout);
            using Tensor dxt = Tensor.FromSpan<float>(Device.Cpu, F(dx0), T, Din);
            layer.Forward(xt, yt, AdapterPass.Inference);
            layer.Backward(xt, dyt, dxt, AdapterPass.Inference);

            Func<double[][], double[]> f = Reference(layer, w, T, Din, Dout, R, N);
            double[][] p = [.. layer.Adapter!.Export().Select(e => D(e.Data)), D(F(x))];
            AssertClose(f(p), D(yt.ToArray<float>()), 1e-5, $"{method} forward");

            double[][] analytic = [.. GradientsInFileLayout(layer.Adapter), D(dxt.ToArray<float>()).Select((v, i) => v - (float)dx0[i]).ToArray()];
            for (int k = 0; k < p.Length; k++)
            {
                double[] numeric = Enumerable.Range(0, p[k].Length).Select(i => AdapterReference.Numeric(f, p, k, i, dy)).ToArray();
                AssertClose(numeric, analytic[k], 1e-4, $"{method} gradient {k} ({(k < p.Length - 1 ? layer.Adapter.Export()[k].Suffix : "dx")})");
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestAdapters.Methods), MemberType = typeof(TestAdapters))]
    public void OddShapesAndSingleTokenForwardMatchReference(string method)
    {
        foreach ((int t, int din, int dout, int r, int n) in new[] { (1, 33, 97, 1, 1), (7, 97, 33, 4, 3) })
        {
            (AdaptedLinear layer, double[] w) = Build(method, t, din, dout, r, n, seed: 3);
            using (layer)
            {
                double[] x = Random(t * din, 5);
                using Tensor xt = Tensor.FromSpan<float>(Device.Cpu, F(x), t, din);
                using Tensor yt = Tensor.Zeros(Device.Cpu, DType.F32, t, dout);
                layer.Forward(xt, yt, AdapterPass.Inference);
                double[][] p = [.. layer.Adapter!.Export().Select(e => D(e.Data)), D(F(x))];
                AssertClose(Reference(layer, w, t, din, dout, r, n)(p), D(yt.ToArray<float>()), 1e-5, $"{method} T={t}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestAdapters.Methods), MemberType = typeof(TestAdapters))]
    public void FreshAdapterLeavesTheBaseOutputUnchanged(string method)
    {
        double[] w = Random(Dout * Din, 1);
        using var linear = new Linear("l", Tensor.FromSpan<float>(Device.Cpu, F(w), Dout, Din));
        AdapterConfig config = TestAdapters.Config(method, rank: R, experts: N);
        using ILinearAdapter adapter = config.Method.Create(config, linear, seed: 0);
        double[] x = Random(T * Din, 2);
        using Tensor xt = Tensor.FromSpan<float>(Device.Cpu, F(x), T, Din);
        using Tensor y = Tensor.Zeros(Device.Cpu, DType.F32, T, Dout);
        linear.Forward(xt, y);
        float[] plain = y.ToArray<float>();
        adapter.Forward(linear, xt, y, AdapterPass.Inference);
        float[] adapted = y.ToArray<float>();
        for (int i = 0; i < plain.Length; i++)
        {
            Assert.Equal(plain[i], adapted[i], 5);  // B = 0 (DoRA: m = ‖W‖ so m/n = 1 up to rounding)
        }
    }

    [Fact]
    public void MoRFirstStepMovesOnlyB()
    {
        using var linear = new Linear("l", Tensor.FromSpan<float>(Device.Cpu, F(Random(Dout * Din, 1)), Dout, Din));
        using var mor = new MoRAdapter(Device.Cpu, Din, Dout, new MoRConfig { Rank = R, Experts = N }, seed: 0);
        using Tensor xt = Tensor.FromSpan<float>(Device.Cpu, F(Random(T * Din, 2)), T, Din);
        using Tensor y = Tensor.Zeros(Device.Cpu, DType.F32, T, Dout);
        using Tensor dy = Tensor.FromSpan<float>(Device.Cpu, F(Random(T * Dout, 3)), T, Dout);
        linear.Forward(xt, y);
        mor.Forward(linear, xt, y, AdapterPass.Inference);
        mor.Backward(linear, xt, dy, dx: null, AdapterPass.Inference);
        Assert.All(mor.AG.Grad.ToArray<float>(), v => Assert.Equal(0f, v));      // dA and dW_g
        Assert.All(mor.OmegaA.Grad.ToArray<float>(), v => Assert.Equal(0f, v));
        Assert.All(mor.OmegaB.Grad.ToArray<float>(), v => Assert.Equal(0f, v));
        Assert.Contains(mor.B.Grad.ToArray<float>(), v => v != 0f);
    }

    [Fact]
    public void MoRWithOneExpertAndUnitScalesEqualsLoRA()
    {
        (AdaptedLinear lora, double[] w) = Build("lora", T, Din, Dout, R, 1, seed: 4);
        using (lora)
        {
            using var linear = new Linear("l", Tensor.FromSpan<float>(Device.Cpu, F(w), Dout, Din));
            using var mor = new MoRAdapter(Device.Cpu, Din, Dout, new MoRConfig { Rank = R, Alpha = 2f * R, Experts = 1 }, seed: 0);
            var e = lora.Adapter!.Export();
            mor.Import(new Dictionary<string, AdapterTensor>
            {
                ["lora_A.weight"] = e[0],
                ["lora_B.weight"] = e[1],
                ["mor_omega_A"] = new("mor_omega_A", [1, R], AdapterParts.Filled(R, 1f)),
                ["mor_omega_B"] = new("mor_omega_B", [1, Dout], AdapterParts.Filled(Dout, 1f)),
                ["mor_router.weight"] = new("mor_router.weight", [1, Din], F(Random(Din, 9))),
            });
            using Tensor xt = Tensor.FromSpan<float>(Device.Cpu, F(Random(T * Din, 2)), T, Din);
            using Tensor y1 = Tensor.Zeros(Device.Cpu, DType.F32, T, Dout), y2 = Tensor.Zeros(Device.Cpu, DType.F32, T, Dout);
            lora.Forward(xt, y1, AdapterPass.Inference);
            linear.Forward(xt, y2);
            mor.Forward(linear, xt, y2, AdapterPass.Inference);
            AssertClose(D(y1.ToArray<float>()), D(y2.ToArray<float>()), 1e-6, "MoR(N=1) vs LoRA");
        }
    }

    [Fact]
    public void TrainableParameterCountsFollowMorMd()
    {
        const int din = 4096, dout = 11008, r = 32, n = 8;
        using var linear = new Linear("l", Tensor.Zeros(Device.Cpu, DType.BF16, 2, 3));
        long Count(ILinearAdapter a) => a.Parameters.Sum(p => p.Numel);
        using var lora = new LoRAAdapter(Device.Cpu, din, dout, new LoRAConfig { Rank = r }, seed: 0);
        using var mor = new MoRAdapter(Device.Cpu, din, dout, new MoRConfig { Rank = r, Experts = n }, seed: 0);
        using var moe = new MoELoRAAdapter(Device.Cpu, din, dout, new MoELoRAConfig { Rank = r, Experts = n }, seed: 0);
        Assert.Equal((long)r * (din + dout), Count(lora));
        Assert.Equal(((long)r * (din + dout)) + ((long)n * (r + dout)) + ((long)n * din), Count(mor));
        Assert.Equal(((long)n * r * (din + dout)) + ((long)n * din), Count(moe));
    }

    [Theory]
    [InlineData("lora", "lora_A.weight,lora_B.weight")]
    [InlineData("dora", "lora_A.weight,lora_B.weight,lora_magnitude_vector")]
    [InlineData("moe-lora", "moe_lora_A,moe_lora_B,moe_router.weight")]
    [InlineData("mor", "lora_A.weight,lora_B.weight,mor_omega_A,mor_omega_B,mor_router.weight")]
    public void ExportUsesPeftStyleNamesAndImportRoundTrips(string method, string suffixes)
    {
        (AdaptedLinear layer, _) = Build(method, T, Din, Dout, R, N, seed: 21);
        using (layer)
        {
            var exported = layer.Adapter!.Export();
            Assert.Equal(suffixes.Split(','), exported.Select(e => e.Suffix));
            (AdaptedLinear other, _) = Build(method, T, Din, Dout, R, N, seed: 22);
            using (other)
            {
                other.Adapter!.Import(exported.ToDictionary(e => e.Suffix));
                var again = other.Adapter.Export();
                for (int i = 0; i < exported.Count; i++)
                {
                    Assert.Equal(exported[i].Shape, again[i].Shape);
                    Assert.Equal(exported[i].Data, again[i].Data);
                }
            }

            var broken = exported.ToDictionary(e => e.Suffix);
            AdapterTensor first = exported[0];
            broken[first.Suffix] = first with { Shape = [.. first.Shape.Select(d => d + 1)] };
            var error = Assert.Throws<InvalidDataException>(() => layer.Adapter.Import(broken));
            Assert.Contains(first.Suffix, error.Message);
            broken.Remove(first.Suffix);
            Assert.Contains("missing", Assert.Throws<InvalidDataException>(() => layer.Adapter.Import(broken)).Message);
        }
    }

    [Fact]
    public void WrongInputShapeIsAnArgumentExceptionBeforeAnyNativeCall()
    {
        (AdaptedLinear layer, _) = Build("mor", T, Din, Dout, R, N, seed: 1);
        using (layer)
        {
            using Tensor x = Tensor.Zeros(Device.Cpu, DType.F32, T, Din + 1);
            using Tensor y = Tensor.Zeros(Device.Cpu, DType.F32, T, Dout);
            Assert.Throws<ArgumentException>(() => layer.Adapter!.Forward(layer.Base, x, y, AdapterPass.Inference));
            using var wrong = new Linear("other", Tensor.Zeros(Device.Cpu, DType.F32, Dout + 1, Din));
            Assert.Throws<ArgumentException>(() => layer.Attach(new LoRAAdapter(Device.Cpu, Din, Dout + 2, new LoRAConfig(), seed: 0)));
        }
    }

    [Fact]
    public void BackwardBeforeForwardSaysSo()
    {
        using var linear = new Linear("l", Tensor.Zeros(Device.Cpu, DType.F32, Dout, Din));
        using var mor = new MoRAdapter(Device.Cpu, Din, Dout, new MoRConfig { Rank = R, Experts = N }, seed: 0);
        using Tensor x = Tensor.Zeros(Device.Cpu, DType.F32, T, Din), dy = Tensor.Zeros(Device.Cpu, DType.F32, T, Dout);
        Assert.Contains("before forward", Assert.Throws<InvalidOperationException>(() => mor.Backward(linear, x, dy, null, AdapterPass.Inference)).Message);
    }

    [Theory]
    [MemberData(nameof(TestAdapters.Methods), MemberType = typeof(TestAdapters))]
    public void DropoutGradientsMatchFiniteDifferencesOfTheMaskedForwardAndEvalDoesNotDrop(string method)
    {
        const float p = 0.4f;
        var training = new AdapterPass(DropoutSeed: 0xC0FFEEUL, RouterBalanceWeight: 0f);
        (AdaptedLinear layer, double[] w) = Build(method, T, Din, Dout, R, N, seed: 7, dropout: p);
        using (layer)
        {
            double[] x = Random(T * Din, 11), dy = Random(T * Dout, 12), dx0 = Random(T * Din, 13);
            using Tensor xt = Tensor.FromSpan<float>(Device.Cpu, F(x), T, Din);
            using Tensor yt = Tensor.Zeros(Device.Cpu, DType.F32, T, Dout);
            using Tensor dyt = Tensor.FromSpan<float>(Device.Cpu, F(dy), T, Dout);
            using Tensor dxt = Tensor.FromSpan<float>(Device.Cpu, F(dx0), T, Din);
            Func<double[][], double[]> f = Reference(layer, w, T, Din, Dout, R, N);
            double[][] p0 = [.. layer.Adapter!.Export().Select(e => D(e.Data)), D(F(x))];

            // Eval (no key): exactly the undropped layer.
            layer.Forward(xt, yt, AdapterPass.Inference);
            AssertClose(f(p0), D(yt.ToArray<float>()), 1e-5, $"{method} eval forward");

            // The mask mor_dropout draws for this pass's key for the layer: keep(i)/(1−p), from a run over ones.
            ulong key = training.DropoutKey(layer.Name)!.Value;
            using Tensor ones = Tensor.FromSpan<float>(Device.Cpu, Enumerable.Repeat(1f, T * Din).ToArray(), T, Din);
            using Tensor maskT = Tensor.Zeros(Device.Cpu, DType.F32, T, Din);
            MoR.Interop.NativeCall.Check(
                MoR.Interop.NativeMethods.mor_dropout(Device.Cpu.Context, MoR.Interop.StreamHandle.Default, T * Din, p, key, 0, ones.Handle, maskT.Handle),
                "mor_dropout");
            double[] mask = D(maskT.ToArray<float>());
            Assert.Contains(0.0, mask);
            Assert.Contains(mask, v => v != 0);

            // The masked forward: the adapter path sees x⊙mask, the frozen base sees x. DoRA (PEFT): only the
            // LoRA term is dropped, y = c⊙(W·x + s·B·A·x_d) with c = m / detached norm.
            double[] norm = layer.Adapter.Config is DoRAConfig ? AdapterReference.DoRANorm(p0[0], p0[1], w, Din, Dout, R, layer.Adapter.Config.Scale) : [];
            double[] Masked(double[][] q)
            {
                double[] xs = q[^1], xd = xs.Select((v, i) => v * mask[i]).ToArray();
                double[] y = f([.. q[..^1], xd]);
                for (int t = 0; t < T; t++)
                    for (int j = 0; j < Dout; j++)
                    {
                        double b = 0;
                        for (int i = 0; i < Din; i++) b += w[(j * Din) + i] * (xs[(t * Din) + i] - xd[(t * Din) + i]);
                        y[(t * Dout) + j] += norm.Length > 0 ? q[2][j] / norm[j] * b : b;
                    }

                return y;
            }

            layer.Forward(xt, yt, training);
            double[] dropped = D(yt.ToArray<float>());
            AssertClose(Masked(p0), dropped, 1e-5, $"{method} dropout forward");
            Assert.True(dropped.Zip(f(p0)).Any(v => Math.Abs(v.First - v.Second) > 1e-4), $"{method}: dropout changed nothing");
            layer.Backward(xt, dyt, dxt, training);

            double[][] analytic = [.. GradientsInFileLayout(layer.Adapter), D(dxt.ToArray<float>()).Select((v, i) => v - (float)dx0[i]).ToArray()];
            for (int k = 0; k < p0.Length; k++)
            {
                double[] numeric = Enumerable.Range(0, p0[k].Length).Select(i => AdapterReference.Numeric(Masked, p0, k, i, dy)).ToArray();
                AssertClose(numeric, analytic[k], 1e-4, $"{method} dropout gradient {k} ({(k < p0.Length - 1 ? layer.Adapter.Export()[k].Suffix : "dx")})");
            }

            // Back to eval: the same layer no longer drops.
            layer.Forward(xt, yt, AdapterPass.Inference);
            AssertClose(f(p0), D(yt.ToArray<float>()), 1e-5, $"{method} eval forward after training");
        }
    }

    [Fact]
    public void DropoutOutsideZeroToOneIsRejected()
    {
        Assert.Throws<ArgumentException>(() => new LoRAConfig { Dropout = 1f }.Validate());
        Assert.Throws<ArgumentException>(() => new LoRAConfig { Dropout = -0.1f }.Validate());
        Assert.Throws<ArgumentException>(() => new LoRAConfig { Dropout = float.NaN }.Validate());
    }

    private static void AssertClose(double[] want, double[] got, double tol, string what)
    {
        Assert.Equal(want.Length, got.Length);
        double num = 0, den = 1e-30;
        for (int i = 0; i < want.Length; i++)
        {
            num = Math.Max(num, Math.Abs(want[i] - got[i]));
            den = Math.Max(den, Math.Abs(want[i]));
        }

        Assert.True(num / den < tol, $"{what}: relative error {num / den:E3} >= {tol:E1}");
    }
}
