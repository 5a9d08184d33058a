using MoR.IO;

namespace MoR.Tests.IO;

/// <summary>Hugging Face config.json: real-model configs parse; each rule's violation names its field and file.</summary>
public sealed class LlamaConfigTests : IDisposable
{
    // Llama-3.1-8B-Instruct's config.json, as published.
    private const string Llama31 = """
        {
          "architectures": ["LlamaForCausalLM"],
          "attention_bias": false,
          "attention_dropout": 0.0,
          "bos_token_id": 128000,
          "eos_token_id": [128001, 128008, 128009],
          "hidden_act": "silu",
          "hidden_size": 4096,
          "initializer_range": 0.02,
          "intermediate_size": 14336,
          "max_position_embeddings": 131072,
          "mlp_bias": false,
          "model_type": "llama",
          "num_attention_heads": 32,
          "num_hidden_layers": 32,
          "num_key_value_heads": 8,
          "pretraining_tp": 1,
          "rms_norm_eps": 1e-05,
          "rope_scaling": {
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192,
            "rope_type": "llama3"
          },
          "rope_theta": 500000.0,
          "tie_word_embeddings": false,
          "torch_dtype": "bfloat16",
          "transformers_version": "4.43.0.dev0",
          "use_cache": true,
          "vocab_size": 128256
        }
        """;

    // SmolLM2-135M-style: tied embeddings, no head_dim, no num_key_value_heads default needed.
    private const string SmolLm = """
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 576, "intermediate_size": 1536,
         "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3, "rms_norm_eps": 1e-05,
         "rope_theta": 100000, "rope_scaling": null, "max_position_embeddings": 8192, "vocab_size": 49152,
         "tie_word_embeddings": true, "torch_dtype": "bfloat16", "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": null}
        """;

    private const string Minimal = """
        {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
         "num_attention_heads": 4, "vocab_size": 300}
        """;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ParsesLlama31()
    {
        LlamaConfig c = LlamaConfig.Parse(Llama31);
        Assert.Equal(4096, c.HiddenSize);
        Assert.Equal(14336, c.IntermediateSize);
        Assert.Equal(32, c.NumHiddenLayers);
        Assert.Equal(32, c.NumAttentionHeads);
        Assert.Equal(8, c.NumKeyValueHeads);
        Assert.Equal(128, c.HeadDim);
        Assert.False(c.HasExplicitHeadDim);
        Assert.Equal(1e-5, c.RmsNormEps);
        Assert.Equal(500000.0, c.RopeTheta);
        Assert.Equal(new RopeScaling(RopeScalingType.Llama3, 8, 1, 4, 8192), c.RopeScaling);
        Assert.Equal(131072, c.MaxPositionEmbeddings);
        Assert.Equal(128256, c.VocabSize);
        Assert.False(c.TieWordEmbeddings);
        Assert.Equal(DType.BF16, c.TorchDType);
        Assert.Equal(128000, c.BosTokenId);
        Assert.Equal([128001, 128008, 128009], c.EosTokenIds);
    }

    [Fact]
    public void ParsesSmolLmWithTiedEmbeddings()
    {
        LlamaConfig c = LlamaConfig.Parse(SmolLm);
        Assert.Equal(64, c.HeadDim);
        Assert.True(c.TieWordEmbeddings);
        Assert.Null(c.RopeScaling);
        Assert.Null(c.PadTokenId);
        Assert.Equal([2], c.EosTokenIds);
        Assert.DoesNotContain(c.ExpectedTensors(), t => t.Name == "lm_head.weight");
    }

    [Fact]
    public void Defaults()
    {
        LlamaConfig c = LlamaConfig.Parse(Minimal);
        Assert.Equal(4, c.NumKeyValueHeads);
        Assert.Equal(16, c.HeadDim);
        Assert.Equal(10000, c.RopeTheta);
        Assert.Equal(1e-6, c.RmsNormEps);
        Assert.Equal(2048, c.MaxPositionEmbeddings);
        Assert.False(c.TieWordEmbeddings);
        Assert.Null(c.TorchDType);
        Assert.Null(c.RopeScaling);
        Assert.Empty(c.EosTokenIds);
    }

    [Fact]
    public void ExplicitHeadDimNeedNotDivideHidden()
    {
        LlamaConfig c = LlamaConfig.Parse(With(Minimal, "\"head_dim\": 24, \"hidden_size\": 70"));
        Assert.Equal(24, c.HeadDim);
        Assert.True(c.HasExplicitHeadDim);
        Assert.Contains(c.ExpectedTensors(), t => t.Name == "model.layers.0.self_attn.q_proj.weight" && t.Shape.SequenceEqual([96L, 70L]));
    }

    [Fact]
    public void MistralWithSlidingWindowAndLegacyRopeTypeKey()
    {
        LlamaConfig c = LlamaConfig.Parse(With(Minimal, "\"model_type\": \"mistral\", \"sliding_window\": 4096, \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}"));
        Assert.Equal("mistral", c.ModelType);
        Assert.Equal(4096, c.SlidingWindow);
        Assert.Equal(new RopeScaling(RopeScalingType.Linear, 2), c.RopeScaling);
    }

    [Fact]
    public void DefaultRopeTypeMeansNoScaling()
    {
        Assert.Null(LlamaConfig.Parse(With(Minimal, "\"rope_scaling\": {\"rope_type\": \"default\"}")).RopeScaling);
    }

    [Fact]
    public void NewDtypeKeyIsAccepted()
    {
        Assert.Equal(DType.F16, LlamaConfig.Parse(With(Minimal, "\"dtype\": \"float16\"")).TorchDType);
    }

    [Theory]
    [InlineData("\"model_type\": \"gpt2\"", "model_type", "'gpt2' is not supported")]
    [InlineData("\"model_type\": \"smollm\"", "model_type", "'smollm' is not supported")]
    [InlineData("\"model_type\": null", "model_type", "is required")]
    [InlineData("\"hidden_size\": null", "hidden_size", "is required")]
    [InlineData("\"hidden_size\": 0", "hidden_size", "must be positive")]
    [InlineData("\"intermediate_size\": -5", "intermediate_size", "must be positive")]
    [InlineData("\"num_hidden_layers\": 0", "num_hidden_layers", "must be positive")]
    [InlineData("\"vocab_size\": 0", "vocab_size", "must be positive")]
    [InlineData("\"max_position_embeddings\": 0", "max_position_embeddings", "must be positive")]
    [InlineData("\"num_attention_heads\": 0", "num_attention_heads", "must be positive")]
    [InlineData("\"num_key_value_heads\": 0", "num_key_value_heads", "must be positive")]
    [InlineData("\"hidden_size\": 66", "hidden_size", "not divisible by num_attention_heads")]
    [InlineData("\"num_key_value_heads\": 3", "num_key_value_heads", "not divisible by num_key_value_heads 3")]
    [InlineData("\"head_dim\": 15", "head_dim", "odd")]
    [InlineData("\"hidden_size\": 64.0", "hidden_size", "must be a 32-bit integer")]
    [InlineData("\"hidden_size\": \"64\"", "hidden_size", "must be a 32-bit integer")]
    [InlineData("\"rms_norm_eps\": 0", "rms_norm_eps", "positive")]
    [InlineData("\"rms_norm_eps\": \"1e-5\"", "rms_norm_eps", "finite number")]
    [InlineData("\"rope_theta\": -1", "rope_theta", "positive")]
    [InlineData("\"tie_word_embeddings\": 1", "tie_word_embeddings", "true or false")]
    [InlineData("\"torch_dtype\": \"float64\"", "torch_dtype", "'float64' is not supported")]
    [InlineData("\"torch_dtype\": \"int8\"", "torch_dtype", "not supported")]
    [InlineData("\"attention_bias\": true", "attention_bias", "no bias")]
    [InlineData("\"mlp_bias\": true", "mlp_bias", "no bias")]
    [InlineData("\"hidden_act\": \"gelu\"", "hidden_act", "'gelu' is not supported")]
    [InlineData("\"quantization_config\": {\"quant_method\": \"gptq\"}", "quantization_config", "quantized")]
    [InlineData("\"eos_token_id\": \"2\"", "eos_token_id", "integer or an array")]
    [InlineData("\"eos_token_id\": [1, \"x\"]", "eos_token_id", "integer or an array")]
    [InlineData("\"eos_token_id\": 300", "eos_token_id", "outside the vocabulary")]
    [InlineData("\"bos_token_id\": -1", "bos_token_id", "outside the vocabulary")]
    [InlineData("\"sliding_window\": 0", "sliding_window", "positive")]
    [InlineData("\"rope_scaling\": 8", "rope_scaling", "must be an object or null")]
    [InlineData("\"rope_scaling\": {\"factor\": 2}", "rope_scaling.rope_type", "is required")]
    [InlineData("\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}", "rope_scaling.rope_type", "'yarn' is not supported")]
    [InlineData("\"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 4}", "rope_scaling.type", "'dynamic' is not supported")]
    [InlineData("\"rope_scaling\": {\"rope_type\": \"linear\"}", "rope_scaling.factor", "is required")]
    [InlineData("\"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 0}", "rope_scaling.factor", "positive")]
    [InlineData("\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 1, \"high_freq_factor\": 4}", "rope_scaling.original_max_position_embeddings", "is required")]
    [InlineData("\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 4, \"high_freq_factor\": 4, \"original_max_position_embeddings\": 8192}", "rope_scaling.high_freq_factor", "greater than low_freq_factor")]
    [InlineData("\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 0, \"high_freq_factor\": 4, \"original_max_position_embeddings\": 8192}", "rope_scaling.low_freq_factor", "positive")]
    public void RejectsWithFieldAndFile(string patch, string field, string detail)
    {
        string path = _dir.File("config.json");
        File.WriteAllText(path, With(Minimal, patch));
        var e = Assert.Throws<LlamaConfigException>(() => LlamaConfig.Load(_dir.Path));
        Assert.Equal(field, e.Field);
        Assert.Equal(path, e.FilePath);
        Assert.Contains($"field '{field}'", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(detail, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RejectsInvalidJsonAndDuplicates()
    {
        Assert.Contains("not valid JSON", Assert.Throws<LlamaConfigException>(() => LlamaConfig.Parse("{ nope")).Message, StringComparison.Ordinal);
        Assert.Contains("top-level", Assert.Throws<LlamaConfigException>(() => LlamaConfig.Parse("[1]")).Message, StringComparison.Ordinal);
        var dup = Assert.Throws<LlamaConfigException>(() => LlamaConfig.Parse("{\"hidden_size\": 64, \"hidden_size\": 128}"));
        Assert.Equal("hidden_size", dup.Field);
    }

    [Fact]
    public void ExpectedTensorsCoverTheModel()
    {
        LlamaConfig c = LlamaConfig.Parse(With(Minimal, "\"num_key_value_heads\": 2"));
        IReadOnlyList<ExpectedTensor> expected = c.ExpectedTensors();
        Assert.Equal(1 + (2 * 9) + 1 + 1, expected.Count);
        Shape(expected, "model.embed_tokens.weight", 300, 64);
        Shape(expected, "model.layers.1.self_attn.q_proj.weight", 64, 64);
        Shape(expected, "model.layers.1.self_attn.k_proj.weight", 32, 64);
        Shape(expected, "model.layers.1.self_attn.v_proj.weight", 32, 64);
        Shape(expected, "model.layers.1.self_attn.o_proj.weight", 64, 64);
        Shape(expected, "model.layers.0.mlp.gate_proj.weight", 128, 64);
        Shape(expected, "model.layers.0.mlp.up_proj.weight", 128, 64);
        Shape(expected, "model.layers.0.mlp.down_proj.weight", 64, 128);
        Shape(expected, "model.layers.0.input_layernorm.weight", 64);
        Shape(expected, "model.layers.0.post_attention_layernorm.weight", 64);
        Shape(expected, "model.norm.weight", 64);
        Shape(expected, "lm_head.weight", 300, 64);
    }

    [Fact]
    public void VerifyCheckpointNamesMissingAndMisshapedTensors()
    {
        LlamaConfig c = LlamaConfig.Parse(With(Minimal, "\"num_hidden_layers\": 1"));
        var writer = new SafeTensorsWriter();
        foreach (ExpectedTensor t in c.ExpectedTensors())
        {
            long count = t.Shape.Aggregate(1L, (a, b) => a * b);
            writer.Add(t.Name, SafeTensorDType.BF16, [.. t.Shape], new byte[count * 2]);
        }

        writer.Add("model.layers.0.self_attn.rotary_emb.inv_freq", SafeTensorDType.F32, [8], new byte[32]);
        string good = _dir.File("good.safetensors");
        writer.Save(good);
        using (CheckpointReader checkpoint = CheckpointReader.Open(good))
        {
            c.VerifyCheckpoint(checkpoint);
        }

        var missing = new SafeTensorsWriter();
        var bad = new SafeTensorsWriter();
        foreach (ExpectedTensor t in c.ExpectedTensors())
        {
            long[] shape = [.. t.Shape];
            byte[] data = new byte[shape.Aggregate(1L, (a, b) => a * b) * 2];
            bool transposed = t.Name == "model.layers.0.mlp.up_proj.weight";
            bad.Add(t.Name, SafeTensorDType.BF16, transposed ? [shape[1], shape[0]] : shape, data);
            if (t.Name != "model.norm.weight")
            {
                missing.Add(t.Name, SafeTensorDType.BF16, shape, data);
            }
        }

        missing.Save(_dir.File("missing.safetensors"));
        bad.Save(_dir.File("bad.safetensors"));
        using (CheckpointReader checkpoint = CheckpointReader.Open(_dir.File("missing.safetensors")))
        {
            var e = Assert.Throws<CheckpointMismatchException>(() => c.VerifyCheckpoint(checkpoint));
            Assert.Equal("model.norm.weight", e.TensorName);
            Assert.Contains("missing", e.Message, StringComparison.Ordinal);
        }

        using (CheckpointReader checkpoint = CheckpointReader.Open(_dir.File("bad.safetensors")))
        {
            var e = Assert.Throws<CheckpointMismatchException>(() => c.VerifyCheckpoint(checkpoint));
            Assert.Equal("model.layers.0.mlp.up_proj.weight", e.TensorName);
            Assert.Contains("has shape [64, 128], expected [128, 64]", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void SaveRoundTrips()
    {
        LlamaConfig original = LlamaConfig.Parse(Llama31);
        original.Save(_dir.Path);
        LlamaConfig back = LlamaConfig.Load(_dir.File("config.json"));
        Assert.Equal(original.ToJson(), back.ToJson());
        Assert.Equal(original.RopeScaling, back.RopeScaling);
        Assert.Equal(original.EosTokenIds, back.EosTokenIds);
        Assert.Equal(8, back.NumKeyValueHeads);
        Assert.Equal(128, back.HeadDim);
        Assert.Equal(DType.BF16, back.TorchDType);
        Assert.Single(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void InMemoryConfigForTinyModelsSavesAndValidates()
    {
        var tiny = new LlamaConfig
        {
            HiddenSize = 32,
            IntermediateSize = 64,
            NumHiddenLayers = 2,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            VocabSize = 261,
            TieWordEmbeddings = true,
            BosTokenId = 257,
            EosTokenIds = [258],
            TorchDType = DType.F32,
        };
        tiny.Save(_dir.File("config.json"));
        LlamaConfig back = LlamaConfig.Load(_dir.Path);
        Assert.Equal(8, back.HeadDim);
        Assert.Equal(2, back.NumKeyValueHeads);
        Assert.True(back.TieWordEmbeddings);

        var broken = new LlamaConfig { HiddenSize = 30, IntermediateSize = 64, NumHiddenLayers = 1, NumAttentionHeads = 4, VocabSize = 10 };
        Assert.Equal("hidden_size", Assert.Throws<LlamaConfigException>(broken.Validate).Field);
    }

    private static void Shape(IReadOnlyList<ExpectedTensor> expected, string name, params long[] shape) =>
        Assert.Equal(shape, expected.Single(t => t.Name == name).Shape);

    // Adds or overrides fields: later duplicates would be rejected, so patch by rebuilding the object.
    private static string With(string json, string patch)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        var extra = System.Text.Json.Nodes.JsonNode.Parse("{" + patch + "}")!.AsObject();
        foreach (var (key, value) in extra.ToList())
        {
            extra.Remove(key);
            root[key] = value;
        }

        return root.ToJsonString();
    }
}
