using MoR.Data;
using MoR.Adapters;
using MoR.Model;
using MoR.Tests.Adapters;
using MoR.Modules;
using MoR.Numerics;

namespace MoR.Tests.Model;

/// <summary>
/// Whole-model gradient checks: the F32 analytic gradient of a sample of entries of every trainable tensor
/// against central finite differences of the float64 reference loss.
/// </summary>
public sealed class LlamaModelGradientTests
{
    private const int Batch = 2, Seq = 7;
    private const float GradScale = 0.7f;

    [Theory]
    [InlineData(2, false, false)]
    [InlineData(1, true, false)]
    [InlineData(4, false, true)]
    public void FullFineTuningGradientsOfEveryTensorMatchFiniteDifferences(int kvHeads, bool tied, bool recompute)
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig(kvHeads, tied));
        using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu, new ModelLoadOptions { Trainable = true });
        model.RecomputeActivations = recompute;
        model.LogitsChunkTokens = 5;
        ReferenceLlama reference = ckpt.Reference();
        int[] ids = ModelTestData.Ids(Batch * Seq, 50, 11), targets = ModelTestData.Targets(Batch * Seq, 50, 12);

        var named = model.NamedTrainableParameters();
        Assert.Equal(ckpt.Config.ExpectedTensors().Count, named.Count);
        model.ForwardBackward(new TokenBatch(Batch, Seq, ids, targets), GradScale, AdapterPass.Inference);

        foreach ((string name, Parameter p) in named)
        {
            double[] values = reference.Weights[name];
            // The embedding's gradient lives in the rows of the batch's tokens (every row when tied, through the head).
            int[]? rows = name == "model.embed_tokens.weight" && !tied ? ids : null;
            CheckSample(name, p.Grad.ToArray<float>(), values, () => reference.Loss(Batch, Seq, ids, targets), rows, ckpt.Config.HiddenSize);
        }
    }

    [Theory]
    [MemberData(nameof(TestAdapters.Methods), MemberType = typeof(TestAdapters))]
    public void AdapterGradientsMatchFiniteDifferencesAndTheBaseGetsNone(string method)
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        AdapterConfig config = TestAdapters.Config(method, rank: 3, alpha: 6, experts: 3, targets: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]);
        IReadOnlyList<string> paths = AdapterInjector.Attach(model, config, seed: 5);
        Assert.Equal(14, paths.Count);
        ReferenceLlama reference = ckpt.Reference();
        ulong seed = 100;
        foreach (string path in paths)
        {
            ILinearAdapter adapter = model.Linears[path].Adapter!;
            ModelTestData.Randomize(adapter, seed++);
            reference.Adapters[path] = new ReferenceAdapter(adapter.Config, [.. adapter.Parameters.Select(ModelTestData.ToDouble)]);
        }

        int[] ids = ModelTestData.Ids(Batch * Seq, 50, 21), targets = ModelTestData.Targets(Batch * Seq, 50, 22);
        LossResult loss = model.ForwardBackward(new TokenBatch(Batch, Seq, ids, targets), GradScale, AdapterPass.Inference);
        Assert.Equal(reference.Loss(Batch, Seq, ids, targets), loss.LossSum, 1e-4);

        // Only adapter parameters are trainable: the frozen base owns no gradient buffer at all.
        var named = model.NamedTrainableParameters();
        Assert.Equal(paths.Sum(p => model.Linears[p].Adapter!.Parameters.Count), named.Count);
        Assert.All(model.Linears.Values, l => Assert.Null(l.Base.WeightParameter));
        foreach (string path in paths)
        {
            ILinearAdapter adapter = model.Linears[path].Adapter!;
            ReferenceAdapter r = reference.Adapters[path];
            for (int k = 0; k < adapter.Parameters.Count; k++)
            {
                CheckSample($"{path}.{adapter.Parameters[k].Name}", adapter.Parameters[k].Grad.ToArray<float>(), r.Native[k],
                    () => reference.Loss(Batch, Seq, ids, targets));
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestAdapters.Methods), MemberType = typeof(TestAdapters))]
    public void AdaptersTrainOnABf16FrozenBaseCloseToTheF32Base(string method)
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig(), dtype: MoR.IO.SafeTensorDType.BF16);
        using LlamaModel bf16 = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        using LlamaModel f32 = LlamaModel.Load(ckpt.Directory, Device.Cpu, new ModelLoadOptions { FrozenWeightDType = DType.F32 });
        Assert.Equal(DType.BF16, bf16.Linears["model.layers.0.mlp.up_proj"].Base.Weight.DType);
        AdapterConfig config = TestAdapters.Config(method, rank: 2, experts: 2);
        var batch = new TokenBatch(Batch, Seq, ModelTestData.Ids(14, 50, 1), ModelTestData.Targets(14, 50, 2));
        float[][] grads = new float[2][];
        int m = 0;
        foreach (LlamaModel model in new[] { bf16, f32 })
        {
            AdapterInjector.Attach(model, config, seed: 1);
            ulong seed = 7;
            foreach (var linear in model.Linears.Values.Where(l => l.Adapter is not null)) ModelTestData.Randomize(linear.Adapter!, seed++);
            LossResult loss = model.ForwardBackward(batch, 1f, AdapterPass.Inference);
            Assert.True(double.IsFinite(loss.LossSum));
            grads[m++] = [.. model.TrainableParameters().SelectMany(p => p.Grad.ToArray<float>())];
        }

        // BF16 rounds the layer inputs to 8 bits of mantissa: gradients agree to a few percent of their scale.
        float scale = grads[1].Max(MathF.Abs);
        Assert.True(ModelTestData.MaxAbsDiff(grads[0], grads[1]) < 0.05 * scale);
    }

    [Fact]
    public void GradientsAccumulateOverMicroBatches()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu, new ModelLoadOptions { Trainable = true });
        var batch = new TokenBatch(Batch, Seq, ModelTestData.Ids(14, 50, 1), ModelTestData.Targets(14, 50, 2));
        model.ForwardBackward(batch, 1f);
        float[] once = model.TrainableParameters()[3].Grad.ToArray<float>();
        model.ForwardBackward(batch, 1f);
        float[] twice = model.TrainableParameters()[3].Grad.ToArray<float>();
        for (int i = 0; i < once.Length; i++) Assert.Equal(2 * once[i], twice[i], 1e-5);
    }

    // Three entries per tensor (the first and last the batch reaches, one random), with a float64 central difference of
    // the loss. `rows` restricts a [rows, rowLength] tensor to the rows the batch uses (an embedding's other rows have a zero
    // gradient, and comparing 0 with 0 checks nothing); every sampled gradient must be clearly non-zero.
    private static void CheckSample(string name, float[] grad, double[] values, Func<double> loss, int[]? rows = null, int rowLength = 0)
    {
        var rng = new SeededRandom((ulong)name.Length * 31UL);
        int[] candidates = rows is null
            ? [.. Enumerable.Range(0, values.Length)]
            : [.. rows.Distinct().Order().SelectMany(r => Enumerable.Range(r * rowLength, rowLength))];
        int[] sample = [candidates[0], candidates[^1], candidates[rng.NextInt(candidates.Length)]];
        const double eps = 1e-5;
        foreach (int i in sample)
        {
            double saved = values[i];
            values[i] = saved + eps;
            double plus = loss();
            values[i] = saved - eps;
            double minus = loss();
            values[i] = saved;
            double numeric = GradScale * (plus - minus) / (2 * eps);
            // F32 analytic against a float64 central difference (whose own error is ~1e-10 here): observed at most 1.3e-5 at
            // |g| = 3.4 and 2.4e-6 at |g| = 1.3e-2. A sampled gradient must be 20x the absolute term, so no check compares
            // two near-zeros (smallest sampled: 4.8e-4).
            double tolerance = 1e-5 + (1e-3 * Math.Abs(numeric));
            Assert.True(Math.Abs(numeric) >= 20 * 1e-5, $"{name}[{i}]: the numeric gradient {numeric} is too small for the check to mean anything");
            Assert.True(Math.Abs(grad[i] - numeric) <= tolerance, $"{name}[{i}]: analytic {grad[i]}, numeric {numeric}");
        }
    }
}
