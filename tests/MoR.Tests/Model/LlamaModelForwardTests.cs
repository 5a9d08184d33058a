using MoR.Data;
using MoR.IO;
using MoR.Model;

namespace MoR.Tests.Model;

/// <summary>Logits and losses of the native model against the float64 reference; KV-cache decoding against full forward.</summary>
public sealed class LlamaModelForwardTests
{
    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(4, false)]
    [InlineData(2, true)]
    public void LogitsAndLossMatchTheFloat64Reference(int kvHeads, bool tied)
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig(kvHeads, tied));
        using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        ReferenceLlama reference = ckpt.Reference();
        int[] ids = ModelTestData.Ids(14, 50, 3);
        int[] targets = ModelTestData.Targets(14, 50, 4);

        float[] logits = model.ComputeLogits(2, 7, ids);
        double[] expected = reference.Logits(2, 7, ids);
        Assert.True(ModelTestData.MaxAbsDiff(logits, expected) < 2e-5, $"max |Δlogit| = {ModelTestData.MaxAbsDiff(logits, expected)}");

        LossResult loss = model.Evaluate(new TokenBatch(2, 7, ids, targets));
        Assert.Equal(targets.Count(t => t != -100), loss.Tokens);
        Assert.Equal(reference.Loss(2, 7, ids, targets), loss.LossSum, 1e-4);
    }

    [Fact]
    public void LlamaThreeRopeScalingIsApplied()
    {
        var scaling = new RopeScaling(RopeScalingType.Llama3, 8, 1, 4, 8);
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig(scaling: scaling));
        using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        int[] ids = ModelTestData.Ids(7, 50, 5);
        Assert.True(ModelTestData.MaxAbsDiff(model.ComputeLogits(1, 7, ids), ckpt.Reference().Logits(1, 7, ids)) < 2e-5);
    }

    [Fact]
    public void ChunkedHeadGivesTheSameLossAndGradientsAsOneChunk()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        using LlamaModel a = LlamaModel.Load(ckpt.Directory, Device.Cpu, new ModelLoadOptions { Trainable = true });
        using LlamaModel b = LlamaModel.Load(ckpt.Directory, Device.Cpu, new ModelLoadOptions { Trainable = true });
        b.LogitsChunkTokens = 3;
        var batch = new TokenBatch(2, 7, ModelTestData.Ids(14, 50, 1), ModelTestData.Targets(14, 50, 2));
        LossResult la = a.ForwardBackward(batch, 0.5f), lb = b.ForwardBackward(batch, 0.5f);
        Assert.Equal(la.LossSum, lb.LossSum, 1e-5);
        var pa = a.TrainableParameters();
        var pb = b.TrainableParameters();
        for (int i = 0; i < pa.Count; i++)
        {
            // The head's GEMMs on 3-row chunks may sum in another order than on all 14 rows (BLAS picks kernels by
            // shape); the difference reaching the earlier gradients is rounding: a few float ulps of their scale.
            float[] ga = pa[i].Grad.ToArray<float>();
            double scale = Math.Max(1.0, ga.Max(Math.Abs));
            double d = ModelTestData.MaxAbsDiff(ga, pb[i].Grad.ToArray<float>());
            Assert.True(d < 1e-6 * scale, $"{pa[i].Name}: differs by {d} at scale {scale}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void DecodeWithTheKvCacheEqualsFullForward(int kvHeads)
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig(kvHeads));
        using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        int[] ids = ModelTestData.Ids(9, 50, 8);
        float[] full = model.ComputeLogits(1, ids.Length, ids);
        int v = 50;

        using KvCache cache = model.NewCache(16);
        for (int t = 0; t < ids.Length; t++)
        {
            float[] step = model.Decode(cache, ids.AsSpan(t, 1));
            Assert.True(ModelTestData.MaxAbsDiff(step, full.AsSpan(t * v, v)) < 1e-5, $"token {t}");
        }

        Assert.Equal(ids.Length, cache.Length);
        cache.Reset();
        float[] prompt = model.Decode(cache, ids.AsSpan(0, 4));
        Assert.True(ModelTestData.MaxAbsDiff(prompt, full.AsSpan(3 * v, v)) < 1e-5);
        float[] rest = model.Decode(cache, ids.AsSpan(4));
        Assert.True(ModelTestData.MaxAbsDiff(rest, full.AsSpan((ids.Length - 1) * v, v)) < 1e-5);
        Assert.Throws<ArgumentException>(() => model.Decode(cache, new int[8]));
    }
}
