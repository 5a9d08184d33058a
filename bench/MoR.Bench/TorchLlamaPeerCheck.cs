using System.Text.Json.Nodes;
using MoR.Adapters;
using MoR.Data;
using MoR.Model;
using static TorchSharp.torch;

namespace MoR.Bench;

/// <summary>
/// <c>peer check</c>: the same model folder, adapter folder and data scored by MoRNative (<c>LlamaModel</c> +
/// <c>AdapterFolder</c>, as <c>mor eval</c> does) and by the TorchSharp peer, without and with the adapter
/// (MoR in both of the peer's forms), so a reader sees that both stacks compute the same function and that
/// the adapter really changes it. Greedy continuations of the first sequence's opening tokens (through
/// each stack's KV cache) are compared too, and with <c>--train-steps K</c> K optimizer steps
/// (<see cref="PeerTrainingAgreement"/>).
/// </summary>
internal static class TorchLlamaPeerCheck
{
    public static JsonObject Run(PeerArguments a)
    {
        string modelDir = a.Required("model"), data = a.Required("batch-file");
        string? adapterDir = a.Optional("adapter");
        string frozen = a.String("frozen-dtype", "stored");
        int trainSteps = a.Int("train-steps", 0);
        float lr = (float)a.Double("lr", 1e-3), maxGradNorm = (float)a.Double("max-grad-norm", 1);
        a.ThrowIfUnused();
        (DType? ours, ScalarType? peer) = frozen switch
        {
            "stored" => ((DType?)null, (ScalarType?)null),
            "f32" => (DType.F32, ScalarType.Float32),
            "bf16" => (DType.BF16, ScalarType.BFloat16),
            _ => throw new PeerUsageException($"--frozen-dtype '{frozen}': stored, f32 or bf16."),
        };
        PeerBatch batch = PeerBatch.Read(data);
        long[] prompt = batch.InputIds[0][..Math.Min(16, batch.InputIds[0].Length)];
        const int NewTokens = 16;
        var report = new JsonObject { ["model"] = modelDir, ["adapter"] = adapterDir, ["frozen_dtype"] = frozen };

        var oursReport = new JsonObject();
        using (LlamaModel model = LlamaModel.Load(modelDir, Device.Cpu, new ModelLoadOptions { FrozenWeightDType = ours }))
        {
            oursReport["base_mean_nll"] = OursMeanNll(model, batch);
            if (adapterDir is not null)
            {
                AdapterConfigFile config = AdapterFolder.Load(adapterDir, model);
                report["method"] = config.Config.Method.Name;
                oursReport["mean_nll"] = OursMeanNll(model, batch);
            }

            var options = new GenerationOptions { MaxNewTokens = NewTokens, StopAtEos = false };
            oursReport["greedy_tokens"] = Tokens(new MoR.Model.Generator(model).Generate([.. prompt.Select(t => (int)t)], options).Tokens.Select(t => (long)t));
        }

        var peerReport = new JsonObject();
        using (TorchLlamaModel model = TorchLlamaModel.Load(modelDir, peer, trainable: false))
        {
            peerReport["base_mean_nll"] = PeerMeanNll(model, batch);
            if (adapterDir is null)
            {
                peerReport["greedy_tokens"] = Tokens(TorchLlamaPeerGenerate.Greedy(model, prompt, NewTokens).Tokens);
            }
            else
            {
                foreach (PeerMethod method in PeerTrainingAgreement.Forms(adapterDir))
                {
                    TorchAdapters.Load(adapterDir, model, method);
                    peerReport[method == PeerMethod.MoRExpanded ? "mor_expanded_mean_nll" : "mean_nll"] = PeerMeanNll(model, batch);
                    peerReport[method == PeerMethod.MoRExpanded ? "mor_expanded_greedy_tokens" : "greedy_tokens"] =
                        Tokens(TorchLlamaPeerGenerate.Greedy(model, prompt, NewTokens).Tokens);
                    TorchAdapters.DetachAll(model);
                }
            }
        }

        report["ours"] = oursReport;
        report["torchsharp"] = peerReport;
        foreach (string key in new[] { "base_mean_nll", "mean_nll" }.Where(oursReport.ContainsKey))
        {
            report[key.Replace("mean_nll", "abs_diff", StringComparison.Ordinal)] =
                Math.Abs(oursReport[key]!.GetValue<double>() - peerReport[key]!.GetValue<double>());
        }

        if (trainSteps > 0)
        {
            report["train"] = PeerTrainingAgreement.Run(modelDir, adapterDir, ours, peer, batch, trainSteps, lr, maxGradNorm);
        }

        report["greedy_tokens_match"] = oursReport["greedy_tokens"]!.ToJsonString() == peerReport["greedy_tokens"]!.ToJsonString();
        return report;
    }

    private static JsonArray Tokens(IEnumerable<long> tokens) => new([.. tokens.Select(t => (JsonNode?)t)]);

    private static double OursMeanNll(LlamaModel model, PeerBatch batch)
    {
        LossResult total = new(0, 0);
        for (int i = 0; i < batch.InputIds.Count; i++)
        {
            // The shift mor eval's Evaluator applies: position t predicts labels[t + 1].
            int[] ids = [.. batch.InputIds[i].Select(t => (int)t)], labels = [.. batch.Labels[i].Select(t => (int)t)];
            int[] targets = [.. Enumerable.Range(0, ids.Length).Select(t => t + 1 < ids.Length ? labels[t + 1] : TokenBatch.IgnoreIndex)];
            total += model.Evaluate(new TokenBatch(1, ids.Length, ids, targets));
        }

        return total.Mean;
    }

    private static double PeerMeanNll(TorchLlamaModel model, PeerBatch batch)
    {
        using (no_grad())
        {
            (double nll, long scored, _) = TorchLlamaPeerEval.Score(model, batch, 0, batch.InputIds.Count);
            return nll / scored;
        }
    }
}
