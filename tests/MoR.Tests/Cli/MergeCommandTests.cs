using System.Text.Json;
using MoR.Tests.Adapters;
using MoR.Adapters;
using MoR.Cli;
using MoR.IO;
using MoR.Model;
using MoR.Tests.IO;
using MoR.Tests.Model;

namespace MoR.Tests.Cli;

/// <summary><c>mor merge</c>: the merged checkpoint computes what base + adapter computes; router adapters need a fixed gate.</summary>
[Collection("Quickstart")]
public sealed class MergeCommandTests
{
    private const int Vocab = 50;

    [Theory]
    [MemberData(nameof(TestAdapters.Methods), MemberType = typeof(TestAdapters))]
    public void The_merged_model_gives_the_logits_of_base_plus_adapter(string method)
    {
        // Routed methods merge with a fixed gate: with a zero router every token's gate is 1/N, so the mean gate is exact.
        AdapterConfig config = TestAdapters.Config(method, rank: 3, alpha: 5, experts: 3, targets: ["q_proj", "o_proj", "up_proj", "down_proj"]);
        string? gate = config.IsRouted ? "mean" : null;
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        using var dir = new TempDirectory();
        string adapterDir = dir.File("adapter"), merged = dir.File("merged");
        int[] ids = ModelTestData.Ids(14, Vocab, 3);
        float[] expected;
        using (LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu))
        {
            IReadOnlyList<string> paths = AdapterInjector.Attach(model, config);
            ulong seed = 10;
            foreach (string p in paths)
            {
                ILinearAdapter adapter = model.Linears[p].Adapter!;
                ModelTestData.Randomize(adapter, seed++);
                if (config.IsRouted)
                {
                    adapter.Import(adapter.Export().ToDictionary(t => t.Suffix, t => t.Suffix.Contains("router", StringComparison.Ordinal) ? t with { Data = new float[t.Data.Length] } : t));
                    adapter.OnParametersChanged();
                }
            }

            expected = model.ComputeLogits(2, 7, ids);
            AdapterFolder.Save(adapterDir, model);
        }

        string[] args = ["merge", "--model", ckpt.Directory, "--adapter", adapterDir, "--output", merged, "--json"];
        (int code, string stdout, string stderr) = CliRunner.Run(gate is null ? args : [.. args, "--fixed-gate", gate]);
        Assert.True(code == ExitCodes.Ok, stderr);
        using (JsonDocument doc = JsonDocument.Parse(stdout))
        {
            Assert.Equal(8, doc.RootElement.GetProperty("modules").GetInt32());
        }

        Assert.True(File.Exists(Path.Combine(merged, "config.json")));
        using LlamaModel plain = LlamaModel.Load(merged, Device.Cpu);
        Assert.All(plain.Linears.Values, l => Assert.Null(l.Adapter));
        float[] got = plain.ComputeLogits(2, 7, ids);
        double scale = expected.Max(v => Math.Abs(v));
        double diff = ModelTestData.MaxAbsDiff(got, expected);
        Assert.True(diff <= 1e-5 * scale, $"max |diff| = {diff} vs max |logit| = {scale}");

        using LlamaModel original = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        Assert.True(ModelTestData.MaxAbsDiff(original.ComputeLogits(2, 7, ids), expected) > 1e-3);  // the adapter mattered
    }

    [Fact]
    public void A_MoR_gate_picks_its_experts_mixture_and_bf16_output_is_bf16()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig(layers: 1));
        using var dir = new TempDirectory();
        string adapterDir = dir.File("adapter");
        float[] weight = ckpt.Weights["model.layers.0.mlp.up_proj.weight"];
        float[] want;
        using (LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu))
        {
            AdapterInjector.Attach(model, TestAdapters.Config("mor", rank: 2, alpha: 4, experts: 2, targets: ["up_proj"]));
            ILinearAdapter mor = model.Linears["model.layers.0.mlp.up_proj"].Adapter!;
            ModelTestData.Randomize(mor, 4);
            Dictionary<string, float[]> t = mor.Export().ToDictionary(x => x.Suffix, x => x.Data);

            // Gate (0.25, 0.75) by the formula, term by term: W + s·Σ_i g_i·diag(ω_B[i])·B·diag(ω_A[i])·A.
            double[] g = [0.25, 0.75];
            want = new float[48 * 32];
            for (int o = 0; o < 48; o++)
            {
                for (int c = 0; c < 32; c++)
                {
                    double d = weight[(o * 32) + c];
                    for (int i = 0; i < 2; i++)
                    {
                        for (int k = 0; k < 2; k++)
                        {
                            d += 2.0 * g[i] * t["mor_omega_B"][(i * 48) + o] * t["lora_B.weight"][(o * 2) + k] * t["mor_omega_A"][(i * 2) + k] * t["lora_A.weight"][(k * 32) + c];
                        }
                    }

                    want[(o * 32) + c] = (float)d;
                }
            }

            AdapterFolder.Save(adapterDir, model);
        }

        (int code, string stdout, string stderr) = CliRunner.Run(
            "merge", "--model", ckpt.Directory, "--adapter", adapterDir, "--output", dir.File("m"), "--fixed-gate", "0.25, 0.75", "--dtype", "bf16");
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Contains("merged mor into 1 modules with gate [0.25, 0.75]", stdout, StringComparison.Ordinal);
        using SafeTensorsReader file = SafeTensorsReader.Open(Path.Combine(dir.File("m"), "model.safetensors"));
        Assert.All(file.Tensors, info => Assert.Equal(SafeTensorDType.BF16, info.DType));
        BFloat16[] got = file.GetSpan<BFloat16>("model.layers.0.mlp.up_proj.weight").ToArray();
        for (int j = 0; j < want.Length; j++)
        {
            Assert.Equal((float)(BFloat16)want[j], (float)got[j], 0.02f * Math.Abs(want[j]) + 1e-6f);
        }
    }

    [Fact]
    public void Router_adapters_without_a_gate_and_bad_gates_exit_2_with_one_line()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig(layers: 1));
        using var dir = new TempDirectory();
        string mor = dir.File("mor"), lora = dir.File("lora");
        using (LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu))
        {
            AdapterInjector.Attach(model, TestAdapters.Config("mor", rank: 2, experts: 4, targets: ["up_proj"]));
            AdapterFolder.Save(mor, model);
            AdapterInjector.DetachAll(model);
            AdapterInjector.Attach(model, TestAdapters.Config("lora", rank: 2, targets: ["up_proj"]));
            AdapterFolder.Save(lora, model);
        }

        string[] common = ["merge", "--model", ckpt.Directory, "--output", dir.File("out")];
        (string[] Args, string Expect)[] cases =
        [
            ([.. common, "--adapter", mor], "router makes the weight update depend on the input x"),
            ([.. common, "--adapter", mor, "--fixed-gate", "0.5,0.5"], "2 values but the adapter has 4 experts"),
            ([.. common, "--adapter", mor, "--fixed-gate", "0.5,0.5,0.5,0.5"], "sum to 2"),
            ([.. common, "--adapter", mor, "--fixed-gate", "1,x,0,0"], "'x' is not a non-negative number"),
            ([.. common, "--adapter", lora, "--fixed-gate", "mean"], "adapters only; this adapter is lora"),
            ([.. common, "--adapter", lora, "--dtype", "f16"], "f16"),
            (["merge", "--model", ckpt.Directory, "--adapter", lora], "--output"),
            ([.. common, "--adapter", dir.File("nope")], "is not a folder"),
        ];
        foreach ((string[] args, string expect) in cases)
        {
            (int code, string stdout, string stderr) = CliRunner.Run(args);
            Assert.True(code == ExitCodes.UsageError, $"{string.Join(' ', args)} -> {code}: {stderr}");
            Assert.Equal(string.Empty, stdout);
            string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("mor: usage error: ", line, StringComparison.Ordinal);
            Assert.Contains(expect, line, StringComparison.Ordinal);
        }

        Assert.False(Directory.Exists(dir.File("out")));  // nothing was written
    }
}
