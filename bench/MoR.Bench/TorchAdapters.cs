using MoR.Adapters;
using MoR.IO;
using MoR.Model;
using TorchSharp;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// Puts adapters on the peer's projections: read from a PEFT-layout folder our <see cref="AdapterFolder"/>
/// writes (same keys, same tensors, MOR.md §6), or freshly initialised per MOR.md §5.
/// </summary>
internal static class TorchAdapters
{
    /// <summary>Attaches the folder's adapters; <paramref name="method"/> picks the MoR form and must match its method.</summary>
    /// <returns>The config read.</returns>
    public static AdapterConfigFile Load(string directory, TorchLlamaModel model, PeerMethod method)
    {
        AdapterConfigFile config = AdapterConfigFile.Read(directory);
        AdapterMethod wanted = method switch
        {
            PeerMethod.LoRA => LoRAMethod.Instance,
            PeerMethod.MoR or PeerMethod.MoRExpanded => MoRMethod.Instance,
            PeerMethod.MoELoRA => MoELoRAMethod.Instance,
            _ => throw new ArgumentException($"--method {PeerModelOptions.MethodName(method)} takes no adapter folder."),
        };
        AdapterConfig c = config.Config;
        if (c.Method != wanted)
        {
            throw new InvalidDataException($"'{directory}' holds a {c.Method.DisplayName} adapter; --method {PeerModelOptions.MethodName(method)} needs {wanted.DisplayName}.");
        }

        using SafeTensorsReader reader = SafeTensorsReader.Open(Path.Combine(directory, AdapterFolder.WeightsFileName));
        int used = 0;
        TTensor Take(string path, string suffix, params long[] shape)
        {
            string key = AdapterFolder.KeyPrefix + path + "." + suffix;
            TensorInfo info = reader.TryGetInfo(key, out TensorInfo? found) ? found : throw new InvalidDataException($"'{directory}' has no tensor '{key}'.");
            if (!info.Shape.SequenceEqual(shape))
            {
                throw new InvalidDataException($"'{key}' has shape {info.FormatShape()}; the model needs {TensorInfo.FormatShape(shape)}.");
            }

            used++;
            return TorchCheckpoint.Read(reader, info, ScalarType.Float32);
        }

        double scale = c.Scale;
        long r = c.Rank, n = c is RoutedAdapterConfig routed ? routed.Experts : 1;
        foreach (TorchLinear linear in model.Linears.Values.Where(l => config.Targets(l.Path)))
        {
            string p = linear.Path;
            long din = linear.InFeatures, dout = linear.OutFeatures;
            linear.Adapter = c switch
            {
                LoRAConfig => new TorchLoRA(Take(p, "lora_A.weight", r, din), Take(p, "lora_B.weight", dout, r), scale),
                MoRConfig => new TorchMoR(Take(p, "lora_A.weight", r, din), Take(p, "lora_B.weight", dout, r), Take(p, "mor_omega_A", n, r),
                    Take(p, "mor_omega_B", n, dout), Take(p, "mor_router.weight", n, din), scale, method == PeerMethod.MoRExpanded),
                _ => new TorchMoELoRA(Take(p, "moe_lora_A", n, r, din), Take(p, "moe_lora_B", n, dout, r), Take(p, "moe_router.weight", n, din), scale),
            };
        }

        if (used != reader.Tensors.Count)
        {
            throw new InvalidDataException($"'{directory}' has {reader.Tensors.Count} tensors but the targeted modules use {used}: target_modules and keys disagree.");
        }

        return config;
    }

    /// <summary>
    /// Fresh adapters on every projection a target selects (PEFT's matching, as <see cref="AdapterInjector"/>):
    /// A Kaiming-uniform (each expert's, for MoE-LoRA), B zero (so the first step starts from the base model),
    /// ω ones, router N(0, 0.02²).
    /// </summary>
    /// <returns>How many projections were adapted.</returns>
    public static int AttachFresh(TorchLlamaModel model, PeerMethod method, int rank, float alpha, int experts, IReadOnlyCollection<string> targets, long seed)
    {
        using var generator = new torch.Generator((ulong)seed);
        double scale = alpha / rank;
        int count = 0;
        foreach (TorchLinear linear in model.Linears.Values.Where(l => targets.Any(t => AdapterInjector.Matches(l.Path, t))))
        {
            long din = linear.InFeatures, dout = linear.OutFeatures;
            double bound = 1.0 / Math.Sqrt(din);
            long[] aShape = method == PeerMethod.MoELoRA ? [experts, rank, din] : [rank, din];
            TTensor a = Detached(() => (rand(aShape, generator: generator) * (2 * bound)) - bound);
            TTensor b = method == PeerMethod.MoELoRA ? zeros(experts, dout, rank) : zeros(dout, rank);
            TTensor Router() => Detached(() => randn([experts, din], generator: generator) * 0.02);
            linear.Adapter = method switch
            {
                PeerMethod.MoELoRA => new TorchMoELoRA(a, b, Router(), scale),
                PeerMethod.LoRA => new TorchLoRA(a, b, scale),
                PeerMethod.MoR or PeerMethod.MoRExpanded => new TorchMoR(a, b, ones(experts, rank), ones(experts, dout),
                    Router(), scale, method == PeerMethod.MoRExpanded),
                _ => throw new ArgumentException($"--method {PeerModelOptions.MethodName(method)} has no adapter."),
            };
            count++;
        }

        return count == 0 ? throw new ArgumentException($"target modules [{string.Join(", ", targets)}] match no projection.") : count;
    }

    // The intermediate tensors of an initialisation expression are freed; only its result survives.
    private static TTensor Detached(Func<TTensor> make)
    {
        using var scope = NewDisposeScope();
        return make().MoveToOuterDisposeScope();
    }

    /// <summary>Removes and disposes every adapter.</summary>
    public static void DetachAll(TorchLlamaModel model)
    {
        foreach (TorchLinear linear in model.Linears.Values)
        {
            linear.Adapter?.Dispose();
            linear.Adapter = null;
        }
    }
}
