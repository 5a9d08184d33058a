using System.Text.Json.Nodes;
using MoR.Adapters;
using MoR.IO;
using MoR.Model;
using MoR.Modules;

namespace MoR.Bench;

/// <summary>
/// <c>peer make-model</c>: a random LLaMA folder written by MoRNative itself (<c>LlamaModel.CreateRandom</c> +
/// <c>Save</c>), optionally an adapter folder whose every tensor is random and nonzero (a fresh adapter has
/// B = 0 and ω = 1, which would hide layout or scaling mistakes), and optionally a JSONL data file: the
/// inputs for checking and timing both stacks on identical weights and tokens.
/// </summary>
internal static class PeerModelMaker
{
    public static JsonObject Run(PeerArguments a)
    {
        string output = a.Required("out");
        var config = new LlamaConfig
        {
            NumHiddenLayers = a.Int("layers", 2),
            HiddenSize = a.Int("hidden", 64),
            IntermediateSize = a.Int("ffn", 172),
            NumAttentionHeads = a.Int("heads", 4),
            NumKeyValueHeads = a.Int("kv-heads", 2),
            VocabSize = a.Int("vocab", 256),
            MaxPositionEmbeddings = a.Int("max-positions", 2048),
            TieWordEmbeddings = a.Int("tie", 0) != 0,
        };
        DType dtype = a.String("dtype", "f32") switch
        {
            "f32" => DType.F32,
            "bf16" => DType.BF16,
            string other => throw new PeerUsageException($"--dtype '{other}': f32 or bf16."),
        };
        ulong seed = (ulong)a.Int("seed", 1);
        string? adapterKind = a.Optional("adapter"), adapterOut = a.Optional("adapter-out");
        int rank = a.Int("rank", 8), experts = a.Int("experts", 8);
        float alpha = (float)a.Double("alpha", 16);
        string[] targets = a.String("targets", "gate_proj,up_proj,down_proj").Split(',', StringSplitOptions.RemoveEmptyEntries);
        string? dataOut = a.Optional("data-out");
        int dataRows = a.Int("data-rows", 2), dataSeq = a.Int("data-seq", 64);
        a.ThrowIfUnused();
        if ((adapterKind is null) != (adapterOut is null))
        {
            throw new PeerUsageException("--adapter lora|mor|moe-lora and --adapter-out DIR go together.");
        }

        var report = new JsonObject { ["model"] = output };
        using LlamaModel model = LlamaModel.CreateRandom(config, Device.Cpu, seed, trainable: false);
        model.Save(output, dtype);
        report["parameters"] = config.ExpectedTensors().Sum(t => t.Shape.Aggregate(1L, (x, y) => x * y));
        report["dtype"] = dtype.ToString();
        if (adapterKind is not null)
        {
            AdapterConfig adapter = adapterKind switch
            {
                "lora" => new LoRAConfig { Rank = rank, Alpha = alpha, TargetModules = targets },
                "mor" => new MoRConfig { Rank = rank, Alpha = alpha, TargetModules = targets, Experts = experts },
                "moe-lora" => new MoELoRAConfig { Rank = rank, Alpha = alpha, TargetModules = targets, Experts = experts },
                _ => throw new PeerUsageException($"--adapter '{adapterKind}': lora, mor or moe-lora."),
            };
            AdapterInjector.Attach(model, adapter, seed);
            var random = new Random((int)seed);
            foreach (AdaptedLinear linear in model.Linears.Values.Where(l => l.Adapter is not null))
            {
                linear.Adapter!.Import(linear.Adapter.Export().ToDictionary(t => t.Suffix, t => Perturb(t, random)));
            }

            AdapterFolder.Save(adapterOut!, model, output);
            report["adapter"] = adapterOut;
            report["adapter_kind"] = adapterKind;
        }

        if (dataOut is not null)
        {
            WriteData(dataOut, dataRows, dataSeq, config.VocabSize, seed);
            report["data"] = dataOut;
        }

        return report;
    }

    // B ~ N(0, 0.05²) (nonzero: the adapter changes the output), ω ~ 1 + N(0, 0.2²) (the experts differ),
    // router ~ N(0, 0.5²) (gates far from uniform); A keeps its Kaiming-uniform start.
    private static AdapterTensor Perturb(AdapterTensor t, Random random)
    {
        (double mean, double std) = t.Suffix switch
        {
            "lora_B.weight" or "moe_lora_B" => (0.0, 0.05),
            "mor_omega_A" or "mor_omega_B" => (1.0, 0.2),
            "mor_router.weight" or "moe_router.weight" => (0.0, 0.5),
            _ => (double.NaN, 0.0),
        };
        if (double.IsNaN(mean))
        {
            return t;
        }

        float[] data = new float[t.Data.Length];
        for (int i = 0; i < data.Length; i++)
        {
            // Box–Muller: System.Random has no normal draw.
            double u = 1.0 - random.NextDouble(), v = random.NextDouble();
            data[i] = (float)(mean + (std * Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v)));
        }

        return t with { Data = data };
    }

    // mor eval's JSONL: labels aligned with input_ids; the first quarter of each row is masked (-100) like a prompt.
    private static void WriteData(string path, int rows, int seq, int vocab, ulong seed)
    {
        var random = new Random((int)seed + 1);
        using var writer = new StreamWriter(path);
        for (int r = 0; r < rows; r++)
        {
            int[] ids = [.. Enumerable.Range(0, seq).Select(_ => random.Next(vocab))];
            int[] labels = [.. ids.Select((id, t) => t < seq / 4 ? -100 : id)];
            writer.WriteLine(new JsonObject
            {
                ["input_ids"] = new JsonArray([.. ids.Select(i => (JsonNode?)i)]),
                ["labels"] = new JsonArray([.. labels.Select(i => (JsonNode?)i)]),
            }.ToJsonString());
        }
    }
}
