using System.Text.Json.Nodes;
using MoR.Cli;
using MoR.IO;
using MoR.Tests.IO;

namespace MoR.Tests.Cli;

/// <summary>
/// Model folders whose config claims sizes the checkpoint cannot back, or whose weights hold NaN/Inf, are refused in
/// one line naming the field or the tensor — before memory grows with the claimed size. A tied config beside an
/// <c>lm_head.weight</c> loads with one warning naming the ignored tensor.
/// </summary>
public sealed class BadWeightsCliTests(TrainedRunFixture run) : IClassFixture<TrainedRunFixture>
{
    [Theory]
    [InlineData("1000000000", "beyond any supported model")]
    [InlineData("5000", "5000 layers, but the checkpoint has 12 tensors and its deepest layer is model.layers.0")]
    [InlineData("2", "2 layers, but the checkpoint has 12 tensors and its deepest layer is model.layers.0")]
    public void A_layer_count_the_checkpoint_cannot_back_is_refused_at_once(string layers, string message)
    {
        using var dir = new TempDirectory();
        string model = TrainedRunFixture.Copy(run.Model, dir.File("model"));
        SetConfig(model, "num_hidden_layers", JsonValue.Create(long.Parse(layers, System.Globalization.CultureInfo.InvariantCulture)));
        Dictionary<string, string> before = BadInputAssert.Snapshot(dir.Path);

        foreach (string[] args in (string[][])[["eval", "--model", model, "--data", run.Data], [.. TrainedRunFixture.FinetuneArgs(model, run.Data, dir.File("out")), "--steps", "1"]])
        {
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            string line = BadInputAssert.EndsInOneLine(CliRunner.Run(args));
            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;

            Assert.Contains("field 'num_hidden_layers'", line, StringComparison.Ordinal);
            Assert.Contains(message, line, StringComparison.Ordinal);
            Assert.True(allocated < 64L << 20, $"{allocated:N0} bytes allocated before the refusal");
        }

        BadInputAssert.Unchanged(before, dir.Path);
    }

    [Theory]
    [InlineData("vocab_size", 300, "model.embed_tokens.weight has 261 rows")]
    [InlineData("hidden_size", 64, "model.embed_tokens.weight has 32 columns")]
    [InlineData("vocab_size", 100000000, "beyond any supported model")]
    public void A_size_the_checkpoint_contradicts_names_the_field(string field, long value, string message)
    {
        using var dir = new TempDirectory();
        string model = TrainedRunFixture.Copy(run.Model, dir.File("model"));
        SetConfig(model, field, JsonValue.Create(value));
        if (field == "hidden_size")
        {
            SetConfig(model, "head_dim", JsonValue.Create(32));  // keep the config self-consistent: only the checkpoint disagrees
        }

        string line = BadInputAssert.OneLine(CliRunner.Run("eval", "--model", model, "--data", run.Data));

        Assert.Contains($"field '{field}'", line, StringComparison.Ordinal);
        Assert.Contains(message, line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("model.layers.0.mlp.down_proj.weight", float.NaN, "NaN")]
    [InlineData("model.embed_tokens.weight", float.PositiveInfinity, "+Infinity")]
    [InlineData("lm_head.weight", float.NegativeInfinity, "-Infinity")]
    [InlineData("model.norm.weight", float.NaN, "NaN")]
    public void A_non_finite_model_weight_is_named_at_load(string tensor, float value, string text)
    {
        using var dir = new TempDirectory();
        string model = TrainedRunFixture.Copy(run.Model, dir.File("model"));
        Patch(Path.Combine(model, "model.safetensors"), tensor, 7, value);

        foreach (string[] args in (string[][])[["eval", "--model", model, "--data", run.Data], ["generate", "--model", model, "--prompt", "copy"]])
        {
            string line = BadInputAssert.OneLine(CliRunner.Run(args));
            Assert.Contains($"tensor '{tensor}' holds {text} at element 7", line, StringComparison.Ordinal);
        }

        string training = BadInputAssert.EndsInOneLine(CliRunner.Run([.. TrainedRunFixture.FinetuneArgs(model, run.Data, dir.File("out")), "--steps", "1"]));
        Assert.Contains(tensor, training, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void A_non_finite_adapter_weight_is_named_at_load()
    {
        using var dir = new TempDirectory();
        string adapter = TrainedRunFixture.Copy(run.Adapter, dir.File("adapter"));
        const string Tensor = "base_model.model.model.layers.0.mlp.up_proj.lora_B.weight";
        Patch(Path.Combine(adapter, "adapter_model.safetensors"), Tensor, 3, float.NaN);

        foreach (string[] args in (string[][])[["eval", "--model", run.Model, "--adapter", adapter, "--data", run.Data], ["merge", "--model", run.Model, "--adapter", adapter, "--output", dir.File("merged")]])
        {
            string line = BadInputAssert.OneLine(CliRunner.Run(args));
            Assert.Contains(Tensor, line, StringComparison.Ordinal);
            Assert.Contains("holds NaN at element 3", line, StringComparison.Ordinal);
        }

        Assert.False(Directory.Exists(dir.File("merged")));
    }

    [Fact]
    public void A_tied_config_beside_a_different_lm_head_warns_naming_the_tensor()
    {
        using var dir = new TempDirectory();
        string model = TrainedRunFixture.Copy(run.Model, dir.File("model"));
        SetConfig(model, "tie_word_embeddings", JsonValue.Create(true));
        string text = dir.File("text.jsonl");
        File.WriteAllLines(text, ["{\"text\":\"copy: w1\\nw1\"}", "{\"text\":\"copy: w5\\nw5\"}"]);

        (int code, string stdout, string err) = CliRunner.Run("eval", "--model", model, "--data", text);

        Assert.True(code == ExitCodes.Ok, err);
        string warning = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("mor: warning: ", warning, StringComparison.Ordinal);
        Assert.Contains("tensor 'lm_head.weight' is ignored", warning, StringComparison.Ordinal);
        Assert.Contains("perplexity", stdout, StringComparison.Ordinal);

        // The LM head really is the embedding: the same scores as the model whose lm_head.weight is the embedding.
        string same = TrainedRunFixture.Copy(run.Model, dir.File("same"));
        CopyTensor(Path.Combine(same, "model.safetensors"), "model.embed_tokens.weight", "lm_head.weight");
        (code, string untied, err) = CliRunner.Run("eval", "--model", same, "--data", text);
        Assert.True(code == ExitCodes.Ok, err);
        Assert.Equal(untied, stdout);

        // Tied with an identical lm_head.weight (a common way to save tied models): nothing to warn about.
        SetConfig(same, "tie_word_embeddings", JsonValue.Create(true));
        (code, string tied, err) = CliRunner.Run("eval", "--model", same, "--data", text);
        Assert.True(code == ExitCodes.Ok, err);
        Assert.Equal(string.Empty, err);
        Assert.Equal(untied, tied);
    }

    internal static void SetConfig(string model, string field, JsonNode? value)
    {
        string path = Path.Combine(model, "config.json");
        JsonObject config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config[field] = value;
        File.WriteAllText(path, config.ToJsonString());
    }

    /// <summary>Overwrites element <paramref name="index"/> of an F32 tensor in place.</summary>
    internal static void Patch(string file, string tensor, long index, float value)
    {
        long offset;
        using (SafeTensorsReader reader = SafeTensorsReader.Open(file))
        {
            TensorInfo info = reader.GetInfo(tensor);
            Assert.Equal(SafeTensorDType.F32, info.DType);
            offset = reader.DataStart + info.Begin + (index * 4);
        }

        using var stream = new FileStream(file, FileMode.Open, FileAccess.Write);
        stream.Position = offset;
        stream.Write(BitConverter.GetBytes(value));
    }

    private static void CopyTensor(string file, string from, string to)
    {
        var writer = new SafeTensorsWriter();
        using (SafeTensorsReader reader = SafeTensorsReader.Open(file))
        {
            foreach (TensorInfo t in reader.Tensors)
            {
                writer.Add(t.Name, t.DType, [.. t.Shape], reader.GetBytes(t.Name == to ? reader.GetInfo(from) : t));
            }
        }

        writer.Save(file);
    }
}
