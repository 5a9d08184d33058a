using System.Text.Json.Nodes;
using MoR.Adapters;
using MoR.Cli;
using MoR.Tests.Cli;
using MoR.Tests.IO;

namespace MoR.Tests.Adapters;

/// <summary>
/// What is MELoRA's own beyond the registry-wide theories (which check its forward and gradients against float64 and
/// finite differences, its export, merge and save/load): the authors' file layout, its refusals, and the CLI.
/// </summary>
[Collection("Quickstart")]
public sealed class MELoRATests
{
    // The keys the authors' PEFT 0.5.0 MELoraConfig writes (sorted), with their LLaMA recipe's values.
    private const string AuthorsConfig = """
        {
          "auto_mapping": null,
          "base_model_name_or_path": "yahma/llama-7b-hf",
          "bias": "none",
          "fan_in_fan_out": false,
          "inference_mode": true,
          "init_lora_weights": true,
          "layers_pattern": null,
          "layers_to_transform": null,
          "lora_alpha": [16, 16, 16, 16, 16, 16, 16, 16],
          "lora_dropout": 0.05,
          "mode": "melora",
          "modules_to_save": null,
          "peft_type": "MELORA",
          "r": [1, 1, 1, 1, 1, 1, 1, 1],
          "revision": null,
          "target_modules": ["q_proj", "v_proj"],
          "task_type": "CAUSAL_LM"
        }
        """;

    [Fact]
    public void The_authors_adapter_config_is_recognised_with_n_from_the_list_length()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File(AdapterConfigFile.FileName), AuthorsConfig);
        var c = Assert.IsType<MELoRAConfig>(AdapterConfigFile.Read(dir.Path).Config);
        Assert.Equal((8, 1, 16f, 16f, 0.05f), (c.Blocks, c.Rank, c.Alpha, c.Scale, c.Dropout));
        Assert.Equal(["q_proj", "v_proj"], c.TargetModules);
    }

    [Fact]
    public void Written_adapter_config_has_the_authors_keys_and_one_r_and_alpha_per_block()
    {
        var config = new MELoRAConfig { Rank = 2, Alpha = 4, Blocks = 3, TargetModules = ["q_proj"] };
        JsonObject o = JsonNode.Parse(new AdapterConfigFile { Config = config, BaseModelNameOrPath = "base" }.ToJson())!.AsObject();
        Assert.Equal(JsonNode.Parse(AuthorsConfig)!.AsObject().Select(p => p.Key), o.Select(p => p.Key));
        Assert.Equal("[2,2,2]", o["r"]!.ToJsonString());
        Assert.Equal("[4,4,4]", o["lora_alpha"]!.ToJsonString());
        Assert.Equal(("MELORA", "melora"), (o["peft_type"]!.GetValue<string>(), o["mode"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("r", "[1, 2]", "r", "different ranks or alphas")]
    [InlineData("lora_alpha", "[16, 8]", "r", "different ranks or alphas")]
    [InlineData("lora_alpha", "[16, 16, 16]", "lora_alpha", "has 3 entries but r has 2")]
    [InlineData("r", "[]", "r", "is empty")]
    [InlineData("r", "4", "r", "must be a list")]
    [InlineData("r", "[1, 0]", "r[1]", "must be an integer in [1,")]
    [InlineData("lora_alpha", "[16, -1]", "lora_alpha[1]", "must be positive")]
    [InlineData("lora_alpha", "[16, \"x\"]", "lora_alpha[1]", "must be a finite number")]
    public void Malformed_lists_are_refused_naming_the_field(string field, string value, string subject, string message)
    {
        using var dir = new TempDirectory();
        JsonObject o = JsonNode.Parse(AuthorsConfig)!.AsObject();
        o["r"] = new JsonArray(1, 1);
        o["lora_alpha"] = new JsonArray(16, 16);
        o[field] = JsonNode.Parse(value);
        File.WriteAllText(dir.File(AdapterConfigFile.FileName), o.ToJsonString());
        AdapterFolderException e = Assert.Throws<AdapterFolderException>(() => AdapterConfigFile.Read(dir.Path));
        Assert.Equal(subject, e.Subject);
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), e.Message);
    }

    [Theory]
    [InlineData(4, "has shape", "r = [2,2,2,2]")]
    [InlineData(1000, "MELoRA with 1000 blocks needs at least 1000 inputs", "base_model.model.")]
    public void A_folder_whose_block_count_does_not_fit_the_model_is_refused_naming_the_file_fields(int blocks, string message, string named)
    {
        using MoR.Tests.Model.TinyCheckpoint ckpt = MoR.Tests.Model.TinyCheckpoint.Create(MoR.Tests.Model.TinyCheckpoint.TinyConfig());
        using MoR.Model.LlamaModel model = MoR.Model.LlamaModel.Load(ckpt.Directory, Device.Cpu);
        using var dir = new TempDirectory();
        AdapterInjector.Attach(model, new MELoRAConfig { Rank = 2, Blocks = 2, TargetModules = ["up_proj"] });
        AdapterFolder.Save(dir.Path, model);
        AdapterInjector.DetachAll(model);
        string file = dir.File(AdapterConfigFile.FileName);
        JsonObject o = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        o["r"] = new JsonArray([.. Enumerable.Repeat(2, blocks).Select(r => JsonValue.Create(r))]);
        o["lora_alpha"] = new JsonArray([.. Enumerable.Repeat(16, blocks).Select(a => JsonValue.Create(a))]);
        File.WriteAllText(file, o.ToJsonString());

        AdapterFolderException e = Assert.Throws<AdapterFolderException>(() => AdapterFolder.Load(dir.Path, model));
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), e.Message);
        Assert.Contains(named, e.Message + e.Subject, StringComparison.Ordinal);
        Assert.All(model.Linears.Values, l => Assert.Null(l.Adapter));
    }

    [Fact]
    public void More_blocks_than_a_layer_has_features_is_refused_before_allocating()
    {
        using var linear = new Modules.Linear("l", Tensor.Zeros(Device.Cpu, DType.F32, 4, 8));
        var config = new MELoRAConfig { Rank = 1, Blocks = 5 };
        ArgumentException e = Assert.Throws<ArgumentException>(() => config.Method.Create(config, linear, seed: 0));
        Assert.Contains("MELoRA with 5 blocks needs at least 5 inputs and outputs; this layer is 4x8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Finetune_trains_saves_and_evaluates_a_melora_adapter_and_its_flag_belongs_to_it()
    {
        using var dir = new TempDirectory();
        string model = CliTests.TinyModel(dir.Path);
        string data = dir.File("data.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 30).Select(i => $"{{\"prompt\":\"copy: w{i % 5}\\n\",\"completion\":\"w{i % 5}\"}}"));
        string output = dir.File("out");
        (int code, string stdout, string stderr) = CliRunner.Run(
            "finetune", "--model", model, "--data", data, "--output", output, "--method", "melora", "--rank", "2", "--blocks", "4",
            "--steps", "3", "--micro-batch", "2", "--seq-len", "32", "--lr", "1e-2");
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Contains("trained 3 steps", stdout, StringComparison.Ordinal);
        string adapter = Path.Combine(output, "adapter");
        var c = Assert.IsType<MELoRAConfig>(AdapterConfigFile.Read(adapter).Config);
        Assert.Equal((4, 2), (c.Blocks, c.Rank));

        string text = dir.File("eval.jsonl");
        File.WriteAllLines(text, ["""{"text":"copy: w1\nw1"}""", """{"text":"copy: w2\nw2"}"""]);
        (code, stdout, stderr) = CliRunner.Run("eval", "--model", model, "--adapter", adapter, "--data", text);
        Assert.True(code == ExitCodes.Ok, stderr);
        string adapted = MeanNll(stdout);
        (code, stdout, stderr) = CliRunner.Run("eval", "--model", model, "--data", text);
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.NotEqual(MeanNll(stdout), adapted);  // the trained adapter (B ≠ 0 after 3 steps) changes the model

        (code, stdout, stderr) = CliRunner.Run("finetune", "--model", model, "--data", data, "--method", "lora", "--blocks", "4");
        Assert.Equal((ExitCodes.UsageError, string.Empty), (code, stdout));
        Assert.StartsWith("mor: usage error: --blocks does not apply to --method lora; it is a flag of melora.", stderr, StringComparison.Ordinal);
    }

    private static string MeanNll(string stdout) =>
        System.Text.RegularExpressions.Regex.Match(stdout, @"mean NLL (\S+)") is { Success: true } m ? m.Groups[1].Value : throw new Xunit.Sdk.XunitException($"no mean NLL in: {stdout}");
}
