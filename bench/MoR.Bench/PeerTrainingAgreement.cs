using System.Text.Json.Nodes;
using MoR.Adapters;
using MoR.Data;
using MoR.Model;
using MoR.Training;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// The training half of <c>peer check</c>: K optimizer steps on the same batch (every row of the data file)
/// with MoRNative's own pieces (<c>LlamaModel.ForwardBackward</c>, <c>GradientNorm</c> clipping,
/// <c>MoR.Training.AdamW</c>: the trainer's step without its schedule) and with the peer's
/// <see cref="TorchTrainingStep"/>. Equal loss sequences mean equal gradients and equal optimizer updates.
/// The adapter folder's adapter trains; without one, every weight does (full fine-tuning).
/// </summary>
internal static class PeerTrainingAgreement
{
    public static JsonObject Run(string modelDir, string? adapterDir, DType? oursDType, ScalarType? peerDType, PeerBatch batch, int steps, float lr, float maxGradNorm)
    {
        var report = new JsonObject { ["steps"] = steps, ["lr"] = lr, ["max_grad_norm"] = maxGradNorm, ["method"] = adapterDir is null ? "full" : "adapter" };
        report["ours_losses"] = Ours(modelDir, adapterDir, oursDType, batch, steps, lr, maxGradNorm);
        double worst = 0;
        foreach (PeerMethod form in adapterDir is null ? [PeerMethod.Full] : Forms(adapterDir))
        {
            JsonArray losses = Peer(modelDir, adapterDir, peerDType, form, batch, steps, lr, maxGradNorm);
            report[form == PeerMethod.MoRExpanded ? "torchsharp_mor_expanded_losses" : "torchsharp_losses"] = losses;
            for (int i = 0; i < steps; i++)
            {
                worst = Math.Max(worst, Math.Abs(losses[i]!.GetValue<double>() - report["ours_losses"]![i]!.GetValue<double>()));
            }
        }

        report["max_abs_diff"] = worst;
        return report;
    }

    /// <summary>The peer's formulations of the folder's adapter: MoR has two, LoRA and MoE-LoRA one.</summary>
    public static PeerMethod[] Forms(string adapterDir) => AdapterConfigFile.Read(adapterDir).Config switch
    {
        LoRAConfig => [PeerMethod.LoRA],
        MoRConfig => [PeerMethod.MoR, PeerMethod.MoRExpanded],
        MoELoRAConfig => [PeerMethod.MoELoRA],
        AdapterConfig other => throw new PeerUsageException($"the peer has no {other.Method.DisplayName} adapter."),
    };

    private static JsonArray Ours(string modelDir, string? adapterDir, DType? dtype, PeerBatch batch, int steps, float lr, float maxGradNorm)
    {
        using LlamaModel model = LlamaModel.Load(modelDir, Device.Cpu, new ModelLoadOptions { Trainable = adapterDir is null, FrozenWeightDType = dtype });
        if (adapterDir is not null)
        {
            AdapterFolder.Load(adapterDir, model);
        }

        int rows = batch.InputIds.Count, t = batch.InputIds[0].Length;
        int[] ids = [.. batch.InputIds.SelectMany(r => r).Select(i => (int)i)];
        int[] targets = [.. batch.Labels.SelectMany(l => Enumerable.Range(0, t).Select(i => i + 1 < t ? (int)l[i + 1] : TokenBatch.IgnoreIndex))];
        var tokens = new TokenBatch(rows, t, ids, targets);
        IReadOnlyList<MoR.Modules.Parameter> parameters = model.TrainableParameters();
        using var optimizer = new AdamW(parameters);
        var losses = new JsonArray();
        for (int step = 0; step < steps; step++)
        {
            // The gradient of the mean loss, as the trainer scales it: 1 / (targets of the step).
            LossResult loss = model.ForwardBackward(tokens, 1f / targets.Count(x => x != TokenBatch.IgnoreIndex));
            optimizer.Step(lr, GradientNorm.ClipFactor(GradientNorm.Compute(parameters), maxGradNorm));
            foreach (MoR.Modules.Parameter p in parameters)
            {
                p.ZeroGrad();
            }

            model.NotifyParametersChanged();
            losses.Add(loss.Mean);
        }

        return losses;
    }

    private static JsonArray Peer(string modelDir, string? adapterDir, ScalarType? dtype, PeerMethod method, PeerBatch batch, int steps, float lr, float maxGradNorm)
    {
        using TorchLlamaModel model = TorchLlamaModel.Load(modelDir, dtype, method == PeerMethod.Full);
        if (adapterDir is not null)
        {
            TorchAdapters.Load(adapterDir, model, method);
        }

        (TTensor ids, TTensor targets) = batch.ToTensors();
        using (ids)
        using (targets)
        using (var trainer = new TorchTrainingStep(model, lr, maxGradNorm))
        {
            var losses = new JsonArray();
            for (int step = 0; step < steps; step++)
            {
                losses.Add((double)trainer.Run(ids, targets));
            }

            return losses;
        }
    }
}
