using MoR.Tests.Adapters;
using MoR.Adapters;
using MoR.Data;
using MoR.Model;
using MoR.Modules;
using MoR.Numerics;

namespace MoR.Tests.Model;

/// <summary>Adapter dropout through <see cref="LlamaModel"/>: training passes with a key drop, evaluation never does.</summary>
public sealed class LlamaDropoutTests
{
    [Theory]
    [InlineData("lora")]
    [InlineData("dora")]
    [InlineData("mor")]
    public void ForwardBackwardDropsOnlyWithAKeyAndEvaluationNeverDrops(string method)
    {
        using LlamaModel model = LlamaModel.CreateRandom(TinyCheckpoint.TinyConfig(), Device.Cpu, 3, trainable: false);
        AdapterInjector.Attach(model, TestAdapters.Config(method, rank: 2, alpha: 4, experts: 2, dropout: 0.5f), seed: 5);
        var rng = new SeededRandom(9);
        foreach (AdaptedLinear linear in model.Linears.Values)
        {
            // A non-zero B so that the adapter path (and its dropout) shows in the loss.
            if (linear.Adapter is { } adapter)
            {
                adapter.Import(adapter.Export().ToDictionary(
                    e => e.Suffix,
                    e =>
                    {
                        if (e.Suffix == "lora_B.weight")
                        {
                            rng.FillNormal(e.Data, 0.5);
                        }

                        return e;
                    }));
            }
        }

        int[] ids = [.. Enumerable.Range(0, 16).Select(i => ((i * 7) + 3) % 50)];
        int[] targets = [.. ids.Skip(1), 0];
        var batch = new TokenBatch(2, 8, ids, targets);

        double eval = model.Evaluate(batch).LossSum;
        double plain = model.ForwardBackward(batch, 1f, AdapterPass.Inference).LossSum;  // no key: no dropout
        Assert.Equal(eval, plain, 4);

        var first = new AdapterPass(DropoutSeed: 11, RouterBalanceWeight: 0f);
        double a = model.ForwardBackward(batch, 1f, first).LossSum, b = model.ForwardBackward(batch, 1f, first).LossSum;
        Assert.Equal(eval, model.Evaluate(batch).LossSum);  // evaluation never drops
        Assert.Equal(a, b);  // same key, same masks
        Assert.NotEqual(plain, a, 4);
        Assert.NotEqual(a, model.ForwardBackward(batch, 1f, first with { DropoutSeed = 12 }).LossSum);
        Assert.Equal(eval, model.Evaluate(batch).LossSum);
    }
}
