using System.Text.Json.Nodes;
using MoR.Tests.Adapters;
using MoR.Adapters;
using MoR.IO;
using MoR.Model;

namespace MoR.Tests.Model;

/// <summary>Adapter folders in PEFT's layout: round trips for every registered method, PEFT's key names and config fields, and the errors of a mismatch.</summary>
public sealed class AdapterFolderTests
{
    [Theory]
    [MemberData(nameof(TestAdapters.Methods), MemberType = typeof(TestAdapters))]
    public void SavedAdaptersAppliedAtLoadReproduceTheLogits(string method)
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        string dir = TinyCheckpoint.TempDir();
        try
        {
            int[] ids = ModelTestData.Ids(7, 50, 4);
            float[] expected;
            using (LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu))
            {
                float[] plain = model.ComputeLogits(1, 7, ids);
                var paths = AdapterInjector.Attach(model, TestAdapters.Config(method, rank: 2, alpha: 4, experts: 3, targets: ["up_proj", "q_proj"]));
                ulong seed = 1;
                foreach (string p in paths) ModelTestData.Randomize(model.Linears[p].Adapter!, seed++);
                expected = model.ComputeLogits(1, 7, ids);
                Assert.NotEqual(plain, expected);
                AdapterFolder.Save(dir, model);
            }

            using LlamaModel fresh = LlamaModel.Load(ckpt.Directory, Device.Cpu);
            AdapterConfigFile config = AdapterFolder.Load(dir, fresh);
            Assert.Equal(method, config.Config.Method.Name);
            Assert.Equal(4, fresh.Linears.Values.Count(l => l.Adapter is not null));
            Assert.Equal(expected, fresh.ComputeLogits(1, 7, ids));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void LoRAAndDoRAUsePeftsKeyNamesAndConfigFields()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig(layers: 1));
        string dir = TinyCheckpoint.TempDir();
        try
        {
            using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu);
            AdapterInjector.Attach(model, TestAdapters.Config("lora", rank: 4, alpha: 8, targets: ["q_proj", "v_proj"]));
            AdapterFolder.Save(dir, model, baseModelNameOrPath: "TinyLlama/TinyLlama-1.1B");

            // What PEFT 0.10–0.13 writes for LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj","v_proj"], task_type="CAUSAL_LM").
            const string peft = """
            {
              "alpha_pattern": {},
              "auto_mapping": null,
              "base_model_name_or_path": "TinyLlama/TinyLlama-1.1B",
              "bias": "none",
              "fan_in_fan_out": false,
              "inference_mode": true,
              "init_lora_weights": true,
              "layer_replication": null,
              "layers_pattern": null,
              "layers_to_transform": null,
              "loftq_config": {},
              "lora_alpha": 8,
              "lora_dropout": 0.0,
              "megatron_config": null,
              "megatron_core": "megatron.core",
              "modules_to_save": null,
              "peft_type": "LORA",
              "r": 4,
              "rank_pattern": {},
              "revision": null,
              "target_modules": ["q_proj", "v_proj"],
              "task_type": "CAUSAL_LM",
              "use_dora": false,
              "use_rslora": false
            }
            """;
            JsonNode written = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "adapter_config.json")))!;
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(peft), written), written.ToJsonString());

            using (SafeTensorsReader file = SafeTensorsReader.Open(Path.Combine(dir, "adapter_model.safetensors")))
            {
                Assert.Equal(
                    [
                        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                        "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
                        "base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight",
                        "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight",
                    ],
                    file.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
                Assert.Equal([4L, 32L], file.GetInfo("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").Shape);
                Assert.Equal([16L, 4L], file.GetInfo("base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight").Shape);
                Assert.Equal("pt", file.Metadata["format"]);
            }

            AdapterInjector.DetachAll(model);
            AdapterInjector.Attach(model, TestAdapters.Config("dora", rank: 4, alpha: 8, targets: ["up_proj"]));
            AdapterFolder.Save(dir, model);
            Assert.True(JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "adapter_config.json")))!["use_dora"]!.GetValue<bool>());
            using SafeTensorsReader dora = SafeTensorsReader.Open(Path.Combine(dir, "adapter_model.safetensors"));
            // PEFT saves the magnitude without ".weight" (get_peft_model_state_dict strips it for DoRA).
            Assert.Equal([48L], dora.GetInfo("base_model.model.model.layers.0.mlp.up_proj.lora_magnitude_vector").Shape);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void MismatchesGiveOneClearErrorNamingTheTensorOrField()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        string dir = TinyCheckpoint.TempDir();
        try
        {
            using (LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu))
            {
                AdapterInjector.Attach(model, TestAdapters.Config("mor", rank: 2, experts: 2));
                AdapterFolder.Save(dir, model);
            }

            string configPath = Path.Combine(dir, "adapter_config.json");
            string original = File.ReadAllText(configPath);
            using LlamaModel target = LlamaModel.Load(ckpt.Directory, Device.Cpu);

            // Wrong dims: the file's rank-2 tensors do not fit a rank-3 adapter.
            File.WriteAllText(configPath, original.Replace("\"r\": 2", "\"r\": 3", StringComparison.Ordinal));
            var e = Assert.Throws<AdapterFolderException>(() => AdapterFolder.Load(dir, target));
            Assert.Equal("base_model.model.model.layers.0.mlp.gate_proj.lora_A.weight", e.Subject);
            Assert.Contains("[2, 32]", e.Message);
            Assert.Contains("[3, 32]", e.Message);

            // Targets that the model lacks.
            File.WriteAllText(configPath, original.Replace("\"gate_proj\"", "\"w1\"", StringComparison.Ordinal).Replace("\"up_proj\"", "\"w3\"", StringComparison.Ordinal).Replace("\"down_proj\"", "\"w2\"", StringComparison.Ordinal));
            e = Assert.Throws<AdapterFolderException>(() => AdapterFolder.Load(dir, target));
            Assert.Equal("target_modules", e.Subject);

            // Targets narrower than the file: the other modules' tensors are unexpected.
            File.WriteAllText(configPath, original.Replace("\"gate_proj\",", string.Empty, StringComparison.Ordinal));
            e = Assert.Throws<AdapterFolderException>(() => AdapterFolder.Load(dir, target));
            Assert.Contains("gate_proj", e.Subject);
            Assert.Contains("unexpected", e.Message);

            // An unknown method.
            File.WriteAllText(configPath, original.Replace("\"MOR\"", "\"IA3\"", StringComparison.Ordinal));
            e = Assert.Throws<AdapterFolderException>(() => AdapterFolder.Load(dir, target));
            Assert.Equal("peft_type", e.Subject);

            // A PEFT option this library does not implement.
            File.WriteAllText(configPath, original.Replace("\"use_rslora\": false", "\"use_rslora\": true", StringComparison.Ordinal));
            e = Assert.Throws<AdapterFolderException>(() => AdapterFolder.Load(dir, target));
            Assert.Equal("use_rslora", e.Subject);

            // Nothing was attached by the failed loads.
            Assert.All(target.Linears.Values, l => Assert.Null(l.Adapter));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void AnAdapterForAnotherModelSizeIsRejectedNamingTheTensorAndBothShapes()
    {
        using TinyCheckpoint small = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        LlamaConfig wide = new()
        {
            HiddenSize = 32,
            IntermediateSize = 64,
            NumHiddenLayers = 2,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            VocabSize = 50,
        };
        string dir = TinyCheckpoint.TempDir();
        try
        {
            using (LlamaModel model = LlamaModel.Load(small.Directory, Device.Cpu))
            {
                AdapterInjector.Attach(model, TestAdapters.Config("lora", rank: 2, targets: ["up_proj"]));
                AdapterFolder.Save(dir, model);
            }

            using LlamaModel other = LlamaModel.CreateRandom(wide, Device.Cpu, 1, trainable: false);
            var e = Assert.Throws<AdapterFolderException>(() => AdapterFolder.Load(dir, other));
            Assert.Equal("base_model.model.model.layers.0.mlp.up_proj.lora_B.weight", e.Subject);
            Assert.Contains("[48, 2]", e.Message);
            Assert.Contains("[64, 2]", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void InjectorMatchesNamesPathsAndRegexesAndListsNamesWhenNothingMatches()
    {
        using LlamaModel model = LlamaModel.CreateRandom(TinyCheckpoint.TinyConfig(), Device.Cpu, 1, trainable: false);
        Assert.Equal(6, AdapterInjector.Match(model, TestAdapters.Config("lora")).Count);
        Assert.Equal(["model.layers.1.mlp.up_proj"], AdapterInjector.Match(model, TestAdapters.Config("lora", targets: ["model.layers.1.mlp.up_proj"])));
        Assert.Equal(2, AdapterInjector.Match(model, TestAdapters.Config("lora", targets: ["self_attn.o_proj"])).Count);
        Assert.Equal(["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj"], AdapterInjector.Match(model, TestAdapters.Config("lora", targets: [@"model\.layers\.0\.self_attn\.(q|k)_proj"])));
        var e = Assert.Throws<ArgumentException>(() => AdapterInjector.Attach(model, TestAdapters.Config("lora", targets: ["c_attn"])));
        Assert.Contains("gate_proj", e.Message);

        AdapterInjector.Attach(model, TestAdapters.Config("lora"), seed: 3);
        var a = ((LoRAAdapter)model.Linears["model.layers.0.mlp.gate_proj"].Adapter!).A.Value.ToArray<float>();
        var b = ((LoRAAdapter)model.Linears["model.layers.0.mlp.up_proj"].Adapter!).A.Value.ToArray<float>();
        Assert.NotEqual(a, b);
        Assert.Throws<ArgumentException>(() => AdapterInjector.Attach(model, TestAdapters.Config("lora")));
    }
}
