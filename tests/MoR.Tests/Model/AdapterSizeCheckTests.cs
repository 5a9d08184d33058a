using System.Text.Json.Nodes;
using MoR.Adapters;
using MoR.IO;
using MoR.Model;
using MoR.Tests.Adapters;
using MoR.Tests.IO;

namespace MoR.Tests.Model;

/// <summary>
/// adapter_config.json's r and num_experts size what <see cref="AdapterFolder.Load"/> allocates: they are checked against
/// the weights file before any adapter is built, and absurd values and non-finite or out-of-range numbers are refused,
/// each naming the field; a non-finite adapter weight names its tensor.
/// </summary>
public sealed class AdapterSizeCheckTests
{
    [Theory]
    [MemberData(nameof(TestAdapters.Methods), MemberType = typeof(TestAdapters))]
    public void ExportedShapes_and_values_are_exactly_what_an_adapter_exports(string method)
    {
        using Tensor weight = Tensor.FromSpan<float>(Device.Cpu, new float[48 * 32].Select((_, i) => (i % 7) * 0.1f).ToArray(), 48, 32);
        using var linear = new Modules.Linear("model.layers.0.mlp.up_proj", weight.Clone());
        AdapterConfig config = TestAdapters.Config(method, rank: 5, alpha: 4, experts: 3);
        using ILinearAdapter adapter = config.Method.Create(config, linear, seed: 0);
        IReadOnlyList<AdapterTensor> export = adapter.Export();
        Assert.Equal(export.Select(t => (t.Suffix, string.Join(",", t.Shape))), config.Method.ExportedShapes(config, 32, 48).Select(t => (t.Suffix, string.Join(",", t.Shape))));
    }

    [Theory]
    [InlineData("lora", "r", 100_000, "lora_A.weight")]
    [InlineData("mor", "num_experts", 60_000, "mor_omega_A")]
    [InlineData("moe-lora", "r", 5_000, "moe_lora_A")]
    public void A_size_the_weights_file_cannot_back_is_refused_before_allocating(string method, string field, int value, string tensor)
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        using var dir = new TempDirectory();
        string adapter = SavedAdapter(ckpt, dir, method);
        SetField(adapter, field, value);

        using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        long native = Device.Cpu.AllocatorStats.LiveBytes;
        AdapterFolderException e = Assert.Throws<AdapterFolderException>(() => AdapterFolder.Load(adapter, model));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 1L << 20, "nothing sized by the field was allocated");
        Assert.Equal($"base_model.model.model.layers.0.mlp.up_proj.{tensor}", e.Subject);
        Assert.Contains($"{(field == "r" ? "r" : "num_experts")} = {value}", e.Message, StringComparison.Ordinal);
        Assert.All(model.Linears.Values, l => Assert.Null(l.Adapter));
        Assert.True(Device.Cpu.AllocatorStats.LiveBytes <= native + (1 << 20));
    }

    [Theory]
    [InlineData("r", "2000000", "r")]
    [InlineData("num_experts", "70000", "num_experts")]
    [InlineData("lora_alpha", "1e300", "lora_alpha")]
    [InlineData("lora_alpha", "1e400", "lora_alpha")]
    [InlineData("lora_alpha", "0", "lora_alpha")]
    [InlineData("lora_alpha", "-2", "lora_alpha")]
    [InlineData("lora_dropout", "1.5", "lora_dropout")]
    [InlineData("lora_dropout", "-0.1", "lora_dropout")]
    [InlineData("r", "4.5", "r")]
    public void Out_of_range_numbers_are_refused_naming_the_field(string field, string value, string named)
    {
        using var dir = new TempDirectory();
        var config = new JsonObject { ["peft_type"] = "MOR", ["r"] = 4, ["num_experts"] = 2, ["target_modules"] = new JsonArray("up_proj") };
        config[field] = JsonNode.Parse(value);
        File.WriteAllText(dir.File("adapter_config.json"), config.ToJsonString());
        AdapterFolderException e = Assert.Throws<AdapterFolderException>(() => AdapterConfigFile.Read(dir.Path));
        Assert.Equal(named, e.Subject);
    }

    [Fact]
    public void A_repeated_key_in_adapter_config_is_a_typed_error_with_its_line()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("adapter_config.json"), "{\n  \"peft_type\": \"LORA\",\n  \"r\": 4,\n  \"r\": 8\n}");
        JsonFileException e = Assert.Throws<JsonFileException>(() => AdapterConfigFile.Read(dir.Path));
        Assert.Equal(4, e.Line);
        Assert.Contains("\"r\" appears twice", e.Message, StringComparison.Ordinal);
    }

    private static string SavedAdapter(TinyCheckpoint ckpt, TempDirectory dir, string method)
    {
        using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        AdapterInjector.Attach(model, TestAdapters.Config(method, rank: 2, experts: 2, targets: ["up_proj"]));
        string adapter = dir.File("adapter");
        AdapterFolder.Save(adapter, model);
        return adapter;
    }

    private static void SetField(string adapter, string field, int value)
    {
        string path = Path.Combine(adapter, "adapter_config.json");
        JsonObject config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config[field] = value;
        File.WriteAllText(path, config.ToJsonString());
    }
}
