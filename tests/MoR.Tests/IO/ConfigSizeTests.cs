using MoR.IO;
using MoR.Model;
using MoR.Tests.Model;

namespace MoR.Tests.IO;

/// <summary>
/// Sizes in config.json are checked before anything is sized from them: absurd values against fixed ceilings
/// (<see cref="LlamaConfig.Validate"/>), plausible ones against the checkpoint's tensor list (<see cref="LlamaConfig.VerifySizes"/>),
/// each naming the field.
/// </summary>
public sealed class ConfigSizeTests
{
    [Theory]
    [InlineData("num_hidden_layers", 1_000_000_000)]
    [InlineData("num_hidden_layers", 65_537)]
    [InlineData("hidden_size", 2_000_000)]
    [InlineData("intermediate_size", 1_048_577)]
    [InlineData("num_attention_heads", 100_000)]
    [InlineData("vocab_size", 2_000_000_000)]
    [InlineData("head_dim", 2_000_000)]
    public void An_absurd_size_is_refused_naming_the_field(string field, int value)
    {
        var fields = new System.Text.Json.Nodes.JsonObject
        {
            ["model_type"] = "llama",
            ["hidden_size"] = 64,
            ["intermediate_size"] = 128,
            ["num_hidden_layers"] = 2,
            ["num_attention_heads"] = 4,
            ["vocab_size"] = 100,
            ["head_dim"] = 16,
        };
        fields[field] = value;
        LlamaConfigException e = Assert.Throws<LlamaConfigException>(() => LlamaConfig.Parse(fields.ToJsonString(), "test/config.json"));
        Assert.Equal(field, e.Field);
        Assert.Contains("beyond any supported model", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Heads_times_head_dim_may_not_exceed_the_widest_projection()
    {
        LlamaConfigException e = Assert.Throws<LlamaConfigException>(() => LlamaConfig.Parse(
            """{"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4096, "num_key_value_heads": 1, "vocab_size": 100, "head_dim": 4096}"""));
        Assert.Equal("num_attention_heads", e.Field);
    }

    [Fact]
    public void The_largest_real_models_pass_the_ceilings()
    {
        // LLaMA 3.1 405B.
        LlamaConfig.Parse("""{"model_type": "llama", "hidden_size": 16384, "intermediate_size": 53248, "num_hidden_layers": 126, "num_attention_heads": 128, "num_key_value_heads": 8, "vocab_size": 128256}""");
    }

    [Fact]
    public void A_depth_the_checkpoint_does_not_have_is_refused_before_listing_tensors()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig(layers: 2));
        using CheckpointReader reader = CheckpointReader.Open(ckpt.Directory);
        LlamaConfig deep = TinyCheckpoint.TinyConfig(layers: 1_000);

        LlamaConfigException e = Assert.Throws<LlamaConfigException>(() => deep.VerifyCheckpoint(reader));
        Assert.Equal("num_hidden_layers", e.Field);
        Assert.Contains("1000 layers, but the checkpoint has 21 tensors and its deepest layer is model.layers.1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_checkpoint_without_layers_is_named()
    {
        using var dir = new TempDirectory();
        var writer = new SafeTensorsWriter();
        writer.Add<float>("model.embed_tokens.weight", SafeTensorDType.F32, [50, 32], new float[50 * 32]);
        string file = dir.File("model.safetensors");
        writer.Save(file);
        using CheckpointReader reader = CheckpointReader.Open(file);
        LlamaConfigException e = Assert.Throws<LlamaConfigException>(() => TinyCheckpoint.TinyConfig().VerifySizes(reader));
        Assert.Equal("num_hidden_layers", e.Field);
        Assert.Contains("it holds no model.layers.* tensor", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_tensor_within_the_depth_is_still_named_by_the_tensor_check()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        var writer = new SafeTensorsWriter();
        using (CheckpointReader source = CheckpointReader.Open(ckpt.Directory))
        {
            foreach (string name in source.TensorNames.Where(n => n != "model.layers.1.mlp.up_proj.weight"))
            {
                TensorInfo info = source.GetInfo(name);
                writer.Add(name, info.DType, [.. info.Shape], source.GetBytes(name));
            }
        }

        string file = Path.Combine(ckpt.Directory, "model.safetensors");
        writer.Save(file);
        using CheckpointReader reader = CheckpointReader.Open(file);
        CheckpointMismatchException e = Assert.Throws<CheckpointMismatchException>(() => TinyCheckpoint.TinyConfig().VerifyCheckpoint(reader));
        Assert.Equal("model.layers.1.mlp.up_proj.weight", e.TensorName);
    }

    [Theory]
    [InlineData("vocab_size")]
    [InlineData("hidden_size")]
    public void The_embedding_fixes_vocab_size_and_hidden_size(string field)
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        using CheckpointReader reader = CheckpointReader.Open(ckpt.Directory);
        LlamaConfig other = new()
        {
            HiddenSize = field == "hidden_size" ? 64 : 32,
            HeadDim = 8,
            IntermediateSize = 48,
            NumHiddenLayers = 2,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            VocabSize = field == "vocab_size" ? 51 : 50,
        };
        LlamaConfigException e = Assert.Throws<LlamaConfigException>(() => other.VerifySizes(reader));
        Assert.Equal(field, e.Field);
    }
}
