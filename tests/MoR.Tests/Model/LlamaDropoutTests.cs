using MoR.Adapters;
using MoR.Model;
using MoR.Modules;
using MoR.Numerics;

namespace MoR.Tests.Model;

/// <summary>Adapter dropout through <see cref="LlamaModel"/>: training passes with a key drop, evaluation never does.</summary>
public sealed class LlamaDropoutTests
{
    [Theory]
    [InlineData(AdapterKind.LoRA)]
    [InlineData(AdapterKind.DoRA)]
    [InlineData(AdapterKind.MoR)]
    public void ForwardBackwardDropsOnlyWithAKeyAndEvaluationNeverDrops(AdapterKind kind)
    {
        using LlamaModel model = LlamaModel.CreateRandom(TinyCheckpoint.TinyConfig(), Device.Cpu, 3, trainable: false);
        AdapterInjector.Attach(model, new AdapterSpec { Kind = kind, Rank = 2, Alpha = 4, Experts = 2, Seed = 5, Dropout = 0.5f });
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
        double plain = model.ForwardBackward(batch, 1f).LossSum;  // no key: no dropout
        Assert.Equal(eval, plain, 4);

        model.DropoutSeed = 11;
        Assert.Equal(eval, model.Evaluate(batch).LossSum);  // evaluation ignores the key
        double a = model.ForwardBackward(batch, 1f).LossSum, b = model.ForwardBackward(batch, 1f).LossSum;
        Assert.Equal(a, b);  // same key, same masks
        Assert.NotEqual(plain, a, 4);
        model.DropoutSeed = 12;
        Assert.NotEqual(a, model.ForwardBackward(batch, 1f).LossSum);
        Assert.Equal(eval, model.Evaluate(batch).LossSum);
    }
}
