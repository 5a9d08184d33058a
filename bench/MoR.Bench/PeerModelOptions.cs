using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace MoR.Bench;

/// <summary>
/// The flags every model-running peer sub-command shares, and opening the model they describe:
/// <c>--model DIR [--frozen-dtype stored|f32|bf16] [--method none|lora|mor|mor-expanded|moe-lora|full]
/// [--adapter DIR | --rank 8 --alpha 16 --experts 8 --targets gate_proj,up_proj,down_proj --seed 0]</c>.
/// </summary>
internal sealed class PeerModelOptions
{
    public PeerModelOptions(PeerArguments a, string defaultMethod)
    {
        Model = a.Required("model");
        Method = ParseMethod(a.String("method", defaultMethod));
        FrozenDType = a.String("frozen-dtype", "stored") switch
        {
            "stored" => null,
            "f32" => ScalarType.Float32,
            "bf16" => ScalarType.BFloat16,
            string other => throw new PeerUsageException($"--frozen-dtype '{other}': stored, f32 or bf16."),
        };
        Adapter = a.Optional("adapter");
        Rank = a.Int("rank", 8);
        Alpha = (float)a.Double("alpha", 16);
        Experts = a.Int("experts", 8);
        Targets = a.String("targets", "gate_proj,up_proj,down_proj").Split(',', StringSplitOptions.RemoveEmptyEntries);
        Seed = a.Int("seed", 0);
        if (Adapter is not null && Method is PeerMethod.None or PeerMethod.Full)
        {
            throw new PeerUsageException($"--adapter needs --method lora, mor, mor-expanded or moe-lora (not {MethodName(Method)}).");
        }
    }

    public string Model { get; }

    public PeerMethod Method { get; }

    public ScalarType? FrozenDType { get; }

    public string? Adapter { get; }

    public int Rank { get; }

    public float Alpha { get; }

    public int Experts { get; }

    public string[] Targets { get; }

    public int Seed { get; }

    public static string MethodName(PeerMethod method) => method switch
    {
        PeerMethod.None => "none",
        PeerMethod.LoRA => "lora",
        PeerMethod.MoR => "mor",
        PeerMethod.MoRExpanded => "mor-expanded",
        PeerMethod.MoELoRA => "moe-lora",
        PeerMethod.Full => "full",
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
    };

    public static PeerMethod ParseMethod(string name)
    {
        foreach (PeerMethod method in Enum.GetValues<PeerMethod>())
        {
            if (MethodName(method) == name)
            {
                return method;
            }
        }

        throw new PeerUsageException($"--method '{name}': none, lora, mor, mor-expanded, moe-lora or full.");
    }

    /// <summary>Loads the model and puts the adapters on it; <paramref name="describe"/> receives what was attached.</summary>
    public TorchLlamaModel Open(JsonObject describe)
    {
        TorchLlamaModel model = TorchLlamaModel.Load(Model, FrozenDType, Method == PeerMethod.Full);
        try
        {
            describe["method"] = MethodName(Method);
            describe["frozen_dtype"] = Method == PeerMethod.Full ? "f32" : FrozenDType switch
            {
                null => "stored",
                ScalarType.BFloat16 => "bf16",
                _ => "f32",
            };
            if (Adapter is not null)
            {
                MoR.Adapters.AdapterConfig config = TorchAdapters.Load(Adapter, model, Method).Config;
                describe["adapter"] = Adapter;
                describe["rank"] = config.Rank;
                describe["experts"] = config is MoR.Adapters.RoutedAdapterConfig routed ? routed.Experts : 1;
            }
            else if (Method is not (PeerMethod.None or PeerMethod.Full))
            {
                describe["adapted_modules"] = TorchAdapters.AttachFresh(model, Method, Rank, Alpha, Experts, Targets, Seed);
                describe["rank"] = Rank;
                describe["experts"] = Method == PeerMethod.LoRA ? 1 : Experts;
            }

            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
