using System.Text.Json;
using System.Text.Json.Nodes;
using MoR.Adapters;
using MoR.Tests.IO;
using MoR.Training;
using Xunit;

namespace MoR.Tests.Adapters;

/// <summary>
/// The method registry (<see cref="AdapterMethods"/>): names, each method's config type and defaults, and the two
/// places a config is written — training_config.json (ours) and adapter_config.json (PEFT's) — read back for every
/// registered method, plus training_config.json files in the flat format written before configs were per method.
/// </summary>
public sealed class AdapterRegistryTests
{
    [Fact]
    public void Names_are_unique_lower_case_and_full_fine_tuning_comes_last()
    {
        string[] names = [.. AdapterMethods.All.Select(m => m.Name)];
        Assert.Equal(names.Length, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.All(names, n => Assert.Equal(n.ToLowerInvariant(), n));
        Assert.Equal([.. names, AdapterMethods.FullFineTuning], AdapterMethods.Names);
        Assert.Same(AdapterMethods.Get("mor"), AdapterMethods.Find("MoR"));
        Assert.Null(AdapterMethods.DefaultConfig("full"));
        Assert.Contains("mor", Assert.Throws<ArgumentException>(() => AdapterMethods.Get("nope")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TestAdapters.Methods), MemberType = typeof(TestAdapters))]
    public void Each_method_owns_its_config_type_and_its_defaults_are_valid(string method)
    {
        AdapterMethod m = AdapterMethods.Get(method);
        Assert.Same(m, m.DefaultConfig.Method);
        Assert.Equal(m.ConfigType, m.DefaultConfig.GetType());
        m.DefaultConfig.Validate();
        Assert.StartsWith(m.DisplayName + " (r = ", m.DefaultConfig.ToString(), StringComparison.Ordinal);
        Assert.All(m.Options, o => Assert.StartsWith("--", o.Name, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(TestAdapters.Methods), MemberType = typeof(TestAdapters))]
    public void Training_options_json_round_trips_the_config_and_holds_only_its_fields(string method)
    {
        var options = new TrainingOptions { Adapter = TestAdapters.Config(method, rank: 3, alpha: 5.5f, experts: 2, dropout: 0.125f, targets: ["up_proj"]), MaxSteps = 7 };
        string json = JsonSerializer.Serialize(options, TrainingJson.Options);
        TrainingOptions back = JsonSerializer.Deserialize<TrainingOptions>(json, TrainingJson.Options)!;
        Assert.Equal(json, JsonSerializer.Serialize(back, TrainingJson.Options));
        Assert.Equal(options.Adapter!.ToString(), back.Adapter!.ToString());
        Assert.Equal(options.Adapter.GetType(), back.Adapter.GetType());

        // Derived values (scale, sizes, routing, the method object) are not fields.
        JsonObject adapter = JsonNode.Parse(json)!["adapter"]!.AsObject();
        Assert.Equal(method, (string?)adapter["method"]);
        foreach (string derived in new[] { "scale", "sizes", "is_routed", "owner" })
        {
            Assert.False(adapter.ContainsKey(derived), $"{method}: training_config.json holds '{derived}'");
        }
    }

    [Fact]
    public void Full_fine_tuning_is_a_null_adapter_in_training_options_json()
    {
        string json = JsonSerializer.Serialize(new TrainingOptions { Adapter = null }, TrainingJson.Options);
        Assert.True(JsonNode.Parse(json)!.AsObject().ContainsKey("adapter"));
        Assert.Null(JsonSerializer.Deserialize<TrainingOptions>(json, TrainingJson.Options)!.Adapter);
    }

    [Theory]
    [InlineData("mor", """{"method":"mor","rank":4,"experts":3,"alpha":8,"dropout":0.1,"target_modules":["up_proj"],"router_init":"zeros","router_balance_loss":0.01,"max_steps":9}""")]
    [InlineData("lora", """{"method":"lora","rank":4,"experts":3,"alpha":8,"target_modules":["up_proj"],"max_steps":9}""")]
    [InlineData("full", """{"method":"full","rank":8,"max_steps":9}""")]
    public void Flat_training_options_written_before_per_method_configs_still_read(string method, string json)
    {
        TrainingOptions o = JsonSerializer.Deserialize<TrainingOptions>(json, TrainingJson.Options)!;
        Assert.Equal(method, o.MethodName);
        Assert.Equal(9, o.MaxSteps);
        if (o.Adapter is { } a)
        {
            Assert.Equal((4, 8f), (a.Rank, a.Alpha));
            Assert.Equal(["up_proj"], a.TargetModules);
        }

        if (o.Adapter is MoRConfig mor)
        {
            Assert.Equal((3, RouterInit.Zeros, 0.01f, 0.1f), (mor.Experts, mor.RouterInit, mor.RouterBalanceLoss, mor.Dropout));
        }
    }

    [Theory]
    [MemberData(nameof(TestAdapters.Methods), MemberType = typeof(TestAdapters))]
    public void Adapter_config_json_is_recognised_as_its_own_method_and_keeps_every_field(string method)
    {
        using var dir = new TempDirectory();
        AdapterConfig config = TestAdapters.Config(method, rank: 3, alpha: 6, experts: 5, dropout: 0.05f, targets: ["q_proj", "down_proj"]);
        File.WriteAllText(dir.File(AdapterConfigFile.FileName), new AdapterConfigFile { Config = config, BaseModelNameOrPath = "base" }.ToJson());
        AdapterConfigFile read = AdapterConfigFile.Read(dir.Path);
        Assert.Same(config.Method, read.Config.Method);
        Assert.Equal(config.ToString(), read.Config.ToString());
        Assert.Equal((config.Dropout, "base"), (read.Config.Dropout, read.BaseModelNameOrPath));
        Assert.Equal(config.TargetModules, read.Config.TargetModules);
        Assert.Equal(0.05, (double)JsonNode.Parse(File.ReadAllText(dir.File(AdapterConfigFile.FileName)))!["lora_dropout"]!);
    }
}
