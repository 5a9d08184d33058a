using MoR.IO;
using MoR.Model;

namespace MoR.Tests.Model;

/// <summary>Save/load round trips and the errors a bad checkpoint gives.</summary>
public sealed class LlamaModelCheckpointTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SaveThenLoadF32ReproducesTheLogitsExactly(bool tied)
    {
        LlamaConfig config = TinyCheckpoint.TinyConfig(tied: tied);
        using LlamaModel model = LlamaModel.CreateRandom(config, Device.Cpu, seed: 9, trainable: true);
        string dir = TinyCheckpoint.TempDir();
        try
        {
            model.Save(dir, DType.F32);
            using (SafeTensorsReader file = SafeTensorsReader.Open(Path.Combine(dir, "model.safetensors")))
            {
                Assert.Equal(tied, !file.Contains("lm_head.weight"));
            }

            using LlamaModel loaded = LlamaModel.Load(dir, Device.Cpu);
            int[] ids = ModelTestData.Ids(7, 50, 2);
            Assert.Equal(model.ComputeLogits(1, 7, ids), loaded.ComputeLogits(1, 7, ids));
            Assert.Equal(DType.F32, LlamaConfig.Load(dir).TorchDType);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void SaveAsBf16ThenLoadGivesLogitsWithinBf16Tolerance()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        string dir = TinyCheckpoint.TempDir();
        try
        {
            model.Save(dir, DType.BF16);
            Assert.Equal(DType.BF16, LlamaConfig.Load(dir).TorchDType);
            using LlamaModel bf16 = LlamaModel.Load(dir, Device.Cpu);
            using LlamaModel widened = LlamaModel.Load(dir, Device.Cpu, new ModelLoadOptions { FrozenWeightDType = DType.F32 });
            int[] ids = ModelTestData.Ids(7, 50, 2);
            float[] reference = model.ComputeLogits(1, 7, ids);
            float scale = reference.Max(MathF.Abs);
            Assert.True(ModelTestData.MaxAbsDiff(bf16.ComputeLogits(1, 7, ids), reference) < 0.05 * scale);
            Assert.True(ModelTestData.MaxAbsDiff(widened.ComputeLogits(1, 7, ids), reference) < 0.05 * scale);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ABf16CheckpointLoadsAsStoredAndMatchesTheReference()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig(), dtype: SafeTensorDType.BF16);
        using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu, new ModelLoadOptions { FrozenWeightDType = DType.F32 });
        int[] ids = ModelTestData.Ids(7, 50, 2);
        Assert.True(ModelTestData.MaxAbsDiff(model.ComputeLogits(1, 7, ids), ckpt.Reference().Logits(1, 7, ids)) < 2e-5);
        using LlamaModel trainable = LlamaModel.Load(ckpt.Directory, Device.Cpu, new ModelLoadOptions { Trainable = true });
        Assert.All(trainable.TrainableParameters(), p => Assert.Equal(DType.F32, p.Value.DType));
    }

    [Fact]
    public void AWrongShapeNamesTheTensor()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        const string bad = "model.layers.1.mlp.up_proj.weight";
        var weights = new Dictionary<string, float[]>(ckpt.Weights) { [bad] = new float[47 * 32] };
        TinyCheckpoint.Write(ckpt.Directory, ckpt.Config, weights, reshape: (name, shape) => name == bad ? [47, 32] : shape);
        var e = Assert.Throws<CheckpointMismatchException>(() => LlamaModel.Load(ckpt.Directory, Device.Cpu));
        Assert.Equal(bad, e.TensorName);
        Assert.Contains("[47, 32]", e.Message);
        Assert.Contains("[48, 32]", e.Message);
    }

    [Fact]
    public void AMissingTensorNamesTheTensor()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        var weights = new Dictionary<string, float[]>(ckpt.Weights);
        weights.Remove("model.layers.0.self_attn.v_proj.weight");
        TinyCheckpoint.Write(ckpt.Directory, ckpt.Config, weights);
        var e = Assert.Throws<CheckpointMismatchException>(() => LlamaModel.Load(ckpt.Directory, Device.Cpu));
        Assert.Equal("model.layers.0.self_attn.v_proj.weight", e.TensorName);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void AnUnsupportedConfigNamesTheField()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        string path = Path.Combine(ckpt.Directory, "config.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"silu\"", "\"gelu\"", StringComparison.Ordinal));
        var e = Assert.Throws<LlamaConfigException>(() => LlamaModel.Load(ckpt.Directory, Device.Cpu));
        Assert.Contains("hidden_act", e.Message);
    }

    [Fact]
    public void RandomModelsAreSeeded()
    {
        LlamaConfig config = TinyCheckpoint.TinyConfig();
        using LlamaModel a = LlamaModel.CreateRandom(config, Device.Cpu, 3, trainable: false);
        using LlamaModel b = LlamaModel.CreateRandom(config, Device.Cpu, 3, trainable: false);
        using LlamaModel c = LlamaModel.CreateRandom(config, Device.Cpu, 4, trainable: false);
        int[] ids = ModelTestData.Ids(5, 50, 1);
        Assert.Equal(a.ComputeLogits(1, 5, ids), b.ComputeLogits(1, 5, ids));
        Assert.NotEqual(a.ComputeLogits(1, 5, ids), c.ComputeLogits(1, 5, ids));
        Assert.Empty(a.TrainableParameters());
    }
}
