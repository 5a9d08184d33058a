using System.Text.Json.Nodes;
using MoR.Adapters;
using MoR.Data;
using MoR.IO;
using MoR.Model;
using MoR.Numerics;
using MoR.Tests.IO;
using MoR.Tests.Model;
using MoR.Tests.Adapters;
using MoR.Training;

namespace MoR.Tests.Training;

/// <summary>
/// Adapter folders as training produces them: every method trained a few steps, saved, loaded into a fresh
/// base model, gives the same logits and loss; LoRA files match PEFT's names and config exactly; a PEFT
/// folder written by hand loads.
/// </summary>
public sealed class AdapterFolderTrainingTests
{
    private const int Vocab = 50;

    [Theory]
    [MemberData(nameof(TestAdapters.Methods), MemberType = typeof(TestAdapters))]
    public void A_trained_adapter_saved_and_loaded_into_a_fresh_base_gives_identical_logits_and_loss(string method)
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        using var dir = new TempDirectory();
        int[] ids = ModelTestData.Ids(12, Vocab, 5);
        int[] targets = ModelTestData.Targets(12, Vocab, 6);
        var batch = new TokenBatch(2, 6, ids, targets);
        float[] trainedLogits;
        LossResult trainedLoss;
        float[] baseLogits;
        using (LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu))
        {
            baseLogits = model.ComputeLogits(2, 6, ids);
            var options = new TrainingOptions
            {
                Adapter = TestAdapters.Config(method, rank: 2, experts: 3, alpha: 4, targets: ["up_proj", "q_proj", "down_proj"]),
                MaxSteps = 3,
                MicroBatchSize = 2,
                SequenceLength = 8,
                LearningRate = 5e-2f,
                Seed = 7,
            };
            AdapterInjector.Attach(model, options.Adapter, options.Seed);
            using (var trainer = new Trainer(new LlamaTrainingModel(model), options, Rows(8, 8, 3)))
            {
                TrainingResult result = trainer.Run();
                Assert.Equal(3, result.Step);
            }

            trainedLogits = model.ComputeLogits(2, 6, ids);
            trainedLoss = model.Evaluate(batch);
            Assert.NotEqual(baseLogits, trainedLogits);  // training moved B off zero: the adapter is not a no-op
            AdapterFolder.Save(dir.Path, model, "tiny-base");
        }

        using LlamaModel fresh = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        Assert.Equal(baseLogits, fresh.ComputeLogits(2, 6, ids));
        AdapterConfigFile config = AdapterFolder.Load(dir.Path, fresh);
        Assert.Equal(method, config.Config.Method.Name);
        Assert.Equal(6, fresh.Linears.Values.Count(l => l.Adapter is not null));
        Assert.Equal(trainedLogits, fresh.ComputeLogits(2, 6, ids));
        LossResult loaded = fresh.Evaluate(batch);
        Assert.Equal(trainedLoss.Tokens, loaded.Tokens);
        Assert.Equal(trainedLoss.LossSum, loaded.LossSum);
    }

    [Fact]
    public void A_LoRA_adapter_has_PEFTs_exact_keys_and_config_fields()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig(layers: 2));
        using var dir = new TempDirectory();
        using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        AdapterInjector.Attach(model, TestAdapters.Config("lora", rank: 4, alpha: 16, targets: ["gate_proj", "up_proj", "down_proj"]));
        AdapterConfigFile written = AdapterFolder.Save(dir.Path, model, "meta-llama/Llama-2-7b-hf");
        written = written with { Config = written.Config with { Dropout = 0.05f } };
        File.WriteAllText(Path.Combine(dir.Path, AdapterConfigFile.FileName), written.ToJson());

        // PEFT's LoraModel names: base_model.model.<HF module path>.lora_A.weight / lora_B.weight, no adapter name.
        string[] expectedKeys =
        [
            "base_model.model.model.layers.0.mlp.down_proj.lora_A.weight",
            "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight",
            "base_model.model.model.layers.0.mlp.gate_proj.lora_A.weight",
            "base_model.model.model.layers.0.mlp.gate_proj.lora_B.weight",
            "base_model.model.model.layers.0.mlp.up_proj.lora_A.weight",
            "base_model.model.model.layers.0.mlp.up_proj.lora_B.weight",
            "base_model.model.model.layers.1.mlp.down_proj.lora_A.weight",
            "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight",
            "base_model.model.model.layers.1.mlp.gate_proj.lora_A.weight",
            "base_model.model.model.layers.1.mlp.gate_proj.lora_B.weight",
            "base_model.model.model.layers.1.mlp.up_proj.lora_A.weight",
            "base_model.model.model.layers.1.mlp.up_proj.lora_B.weight",
        ];
        using (SafeTensorsReader file = SafeTensorsReader.Open(Path.Combine(dir.Path, "adapter_model.safetensors")))
        {
            Assert.Equal(expectedKeys, file.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
            Assert.All(file.Tensors, t => Assert.Equal(SafeTensorDType.F32, t.DType));
            Assert.Equal([4L, 32L], file.GetInfo("base_model.model.model.layers.1.mlp.up_proj.lora_A.weight").Shape);   // r x d_in
            Assert.Equal([48L, 4L], file.GetInfo("base_model.model.model.layers.1.mlp.up_proj.lora_B.weight").Shape);   // d_out x r
            Assert.Equal([4L, 48L], file.GetInfo("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight").Shape);
            Assert.Equal([32L, 4L], file.GetInfo("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight").Shape);
        }

        JsonObject config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "adapter_config.json")))!.AsObject();
        Assert.Equal("LORA", (string?)config["peft_type"]);
        Assert.Equal(4, (int)config["r"]!);
        Assert.Equal(16, (int)config["lora_alpha"]!);
        Assert.Equal("16", config["lora_alpha"]!.ToJsonString());  // an integer, as PEFT writes it, not 16.0
        Assert.Equal(["gate_proj", "up_proj", "down_proj"], config["target_modules"]!.AsArray().Select(n => (string)n!));
        Assert.False((bool)config["use_dora"]!);
        Assert.Equal("CAUSAL_LM", (string?)config["task_type"]);
        Assert.Equal("none", (string?)config["bias"]);
        Assert.False((bool)config["fan_in_fan_out"]!);
        Assert.Equal("meta-llama/Llama-2-7b-hf", (string?)config["base_model_name_or_path"]);
        Assert.Equal(0.05, (double)config["lora_dropout"]!);
        Assert.False(config.ContainsKey("num_experts"));  // PEFT's LoraConfig has no such field

        // Reading it back keeps every field.
        AdapterConfigFile read = AdapterConfigFile.Read(dir.Path);
        Assert.Equal(("lora", 4, 16f, 0.05f, "meta-llama/Llama-2-7b-hf"), (read.Config.Method.Name, read.Config.Rank, read.Config.Alpha, read.Config.Dropout, read.BaseModelNameOrPath));
        Assert.Equal(["gate_proj", "up_proj", "down_proj"], read.Config.TargetModules);
    }

    [Fact]
    public void A_PEFT_folder_written_by_hand_loads_and_applies_W_plus_scaled_BA()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig(layers: 1));
        using var dir = new TempDirectory();
        const int r = 2;
        const float alpha = 6;

        // Exactly what peft.PeftModel.save_pretrained writes for LoraConfig(r=2, lora_alpha=6, target_modules=["up_proj"]),
        // with torch's BF16 for lora_B to check dtype conversion, and the fields of an older PEFT (no use_dora, no layer_replication).
        File.WriteAllText(Path.Combine(dir.Path, "adapter_config.json"), """
        {
          "alpha_pattern": {},
          "auto_mapping": null,
          "base_model_name_or_path": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
          "bias": "none",
          "fan_in_fan_out": false,
          "inference_mode": true,
          "init_lora_weights": true,
          "layers_pattern": null,
          "layers_to_transform": null,
          "lora_alpha": 6,
          "lora_dropout": 0.1,
          "modules_to_save": null,
          "peft_type": "LORA",
          "r": 2,
          "rank_pattern": {},
          "revision": null,
          "target_modules": ["up_proj"],
          "task_type": "CAUSAL_LM"
        }
        """);
        var rng = new SeededRandom(11);
        float[] a = new float[r * 32];
        float[] b = new float[48 * r];
        rng.FillNormal(a, 0.3);
        rng.FillNormal(b, 0.3);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(BFloat16)b[i];
        var writer = new SafeTensorsWriter();
        writer.SetMetadata("format", "pt");
        writer.Add<float>("base_model.model.model.layers.0.mlp.up_proj.lora_A.weight", SafeTensorDType.F32, [r, 32], a);
        writer.Add<BFloat16>("base_model.model.model.layers.0.mlp.up_proj.lora_B.weight", SafeTensorDType.BF16, [48, r], [.. b.Select(v => (BFloat16)v)]);
        writer.Save(Path.Combine(dir.Path, "adapter_model.safetensors"));

        using LlamaModel withAdapter = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        AdapterConfigFile config = AdapterFolder.Load(dir.Path, withAdapter);
        Assert.Equal(("lora", r, alpha), (config.Config.Method.Name, config.Config.Rank, config.Config.Alpha));
        var lora = Assert.IsType<LoRAAdapter>(withAdapter.Linears["model.layers.0.mlp.up_proj"].Adapter);
        Assert.Equal(a, lora.A.Value.ToArray<float>());
        Assert.Equal(b, lora.B.Value.ToArray<float>());

        // The same model with W replaced by W + (α/r)·B·A by hand gives the same logits.
        var merged = new Dictionary<string, float[]>(ckpt.Weights, StringComparer.Ordinal);
        float[] w = (float[])ckpt.Weights["model.layers.0.mlp.up_proj.weight"].Clone();
        for (int o = 0; o < 48; o++)
        {
            for (int i = 0; i < 32; i++)
            {
                double d = 0;
                for (int k = 0; k < r; k++) d += b[(o * r) + k] * a[(k * 32) + i];
                w[(o * 32) + i] += (float)(alpha / r * d);
            }
        }

        merged["model.layers.0.mlp.up_proj.weight"] = w;
        using var mergedDir = new TempDirectory();
        TinyCheckpoint.Write(mergedDir.Path, ckpt.Config, merged);
        using LlamaModel reference = LlamaModel.Load(mergedDir.Path, Device.Cpu);
        int[] ids = ModelTestData.Ids(9, Vocab, 2);
        float[] got = withAdapter.ComputeLogits(1, 9, ids);
        float[] want = reference.ComputeLogits(1, 9, ids);
        Assert.True(ModelTestData.MaxAbsDiff(got, want) < 1e-4, $"max |diff| = {ModelTestData.MaxAbsDiff(got, want)}");
    }

    private static List<PackedSequence> Rows(int count, int length, ulong seed)
    {
        var rng = new SeededRandom(seed);
        var rows = new List<PackedSequence>();
        for (int r = 0; r < count; r++)
        {
            int[] ids = [.. Enumerable.Range(0, length + 1).Select(_ => rng.NextInt(Vocab))];
            rows.Add(new PackedSequence(ids[..length], ids[1..]));
        }

        return rows;
    }
}
