using MoR.Data;
using MoR.Modules;
using MoR.Numerics;
using MoR.Tests.Adapters;
using MoR.Training;

namespace MoR.Tests.Training;

/// <summary>
/// What the trainer does to a step's gradients and parameters besides Adam itself (whose formula the native
/// AdamW.ThreeStepsMatchTheFloat64Formula checks): decoupled weight decay per parameter, the global gradient norm
/// and clipping, each against float64.
/// </summary>
public sealed class OptimizerStepTests
{
    [Theory]
    [InlineData("lora")]
    [InlineData("dora")]
    [InlineData("mor")]
    [InlineData("full")]
    public void Weight_decay_multiplies_by_one_minus_lr_times_decay_and_skips_parameters_that_opt_out(string method)
    {
        const float lr = 0.1f, decay = 0.5f;
        using var model = new TinyLanguageModel(method);
        IReadOnlyList<Parameter> ps = model.TrainableParameters();
        // Values of both signs away from zero (a zero-initialised B would pass any decay check); gradients stay zero,
        // so Adam's own term is exactly 0 and only the decay can move a parameter.
        var rng = new SeededRandom(17);
        double[][] before = new double[ps.Count][];
        for (int i = 0; i < ps.Count; i++)
        {
            float[] v = new float[ps[i].Numel];
            rng.FillNormal(v, 1.0);
            for (int j = 0; j < v.Length; j++)
            {
                v[j] = MathF.CopySign(0.25f + MathF.Abs(v[j]), v[j]);
            }

            ps[i].Value.CopyFrom<float>(v);
            before[i] = [.. v.Select(x => (double)x)];
        }

        using var adamw = new AdamW(ps, weightDecay: decay);
        adamw.Step(lr);

        // F32: 1 − lr·wd and the product are each rounded once (≤ 2⁻²⁴ relative apiece): 2.4e-7 covers both, while the
        // decay itself moves every value by lr·wd = 5 % of it.
        double factor = 1 - ((double)lr * decay);
        Assert.Contains(ps, p => p.WeightDecay);
        for (int i = 0; i < ps.Count; i++)
        {
            float[] now = ps[i].Value.ToArray<float>();
            for (int j = 0; j < now.Length; j++)
            {
                if (ps[i].WeightDecay)
                {
                    double expected = before[i][j] * factor;
                    Assert.True(Math.Abs(now[j] - expected) <= 2.4e-7 * Math.Abs(expected), $"{ps[i].Name}[{j}]: {now[j]}, expected {expected} (from {before[i][j]})");
                }
                else
                {
                    Assert.True(now[j] == before[i][j], $"{ps[i].Name}[{j}] opts out of weight decay but moved: {before[i][j]} -> {now[j]}");
                }
            }
        }

        if (method == "mor")
        {
            Assert.Contains(ps, p => !p.WeightDecay); // the ω scales
        }
    }

    [Fact]
    public void The_gradient_norm_is_the_float64_norm_over_every_parameter()
    {
        using var model = new TinyLanguageModel("mor");
        IReadOnlyList<Parameter> ps = model.TrainableParameters();
        var rng = new SeededRandom(23);
        double sum = 0;
        foreach (Parameter p in ps)
        {
            float[] g = new float[p.Numel];
            rng.FillNormal(g, 3.0);
            p.Grad.CopyFrom<float>(g);
            sum += g.Sum(x => (double)x * x);
        }

        Assert.Equal(Math.Sqrt(sum), GradientNorm.Compute(ps), Math.Sqrt(sum) * 1e-13);
    }

    [Theory]
    [InlineData(10.0, 1f, 1 / (10.0 + 1e-6))]
    [InlineData(0.5, 1f, 1.0)]   // below the limit: untouched
    [InlineData(1.0, 1f, 1.0)]   // at the limit
    [InlineData(10.0, 0f, 1.0)]  // clipping off
    public void The_clip_factor_brings_the_norm_down_to_the_limit(double norm, float maxNorm, double expected) =>
        Assert.Equal((float)expected, GradientNorm.ClipFactor(norm, maxNorm));

    [Fact]
    public void A_clipped_step_feeds_Adam_the_gradient_scaled_by_limit_over_norm()
    {
        List<PackedSequence> rows = TinyData.Rows(8, 8, seed: 5);
        TrainingOptions options = new()
        {
            Adapter = TestAdapters.ConfigOrFull("mor", rank: 4, experts: 3, alpha: 8),
            LearningRate = 1e-2f,
            MaxSteps = 1,
            MicroBatchSize = 2,
            GradientAccumulation = 2,
            SequenceLength = 8,
            MaxGradNorm = 0, // off
            Seed = 7,
        };

        // One step unclipped: its first moments are (1 − β1)·g, so g is known, and the logged norm is ‖g‖.
        (double norm, float[][] unclipped) = OneStep(options, rows);
        double[][] g = [.. unclipped.Select(m => m.Select(x => x / (1 - (double)options.Beta1)).ToArray())];
        double reference = Math.Sqrt(g.Sum(t => t.Sum(x => x * x)));
        Assert.True(Math.Abs(norm - reference) <= 1e-6 * reference, $"logged gradient norm {norm}, float64 norm of the gradients {reference}");

        // The same step with the limit at a quarter of that norm: the logged norm is still the unclipped one, and Adam saw
        // g · limit / (norm + 1e-6). Each moment is one F32 product away from the unclipped one (and both from float64):
        // 4e-7 relative; the scale itself is 0.25, far outside that.
        float limit = (float)(norm / 4);
        (double clippedNorm, float[][] clipped) = OneStep(options with { MaxGradNorm = limit }, rows);
        Assert.Equal(norm, clippedNorm);
        double scale = limit / (norm + 1e-6);
        int checkedValues = 0;
        for (int i = 0; i < clipped.Length; i++)
        {
            for (int j = 0; j < clipped[i].Length; j++)
            {
                double expected = (1 - (double)options.Beta1) * g[i][j] * scale;
                Assert.True(Math.Abs(clipped[i][j] - expected) <= (4e-7 * Math.Abs(expected)) + 1e-30, $"moment {i}[{j}]: {clipped[i][j]}, expected {expected}");
                checkedValues += g[i][j] != 0 ? 1 : 0;
            }
        }

        Assert.True(checkedValues > 0.9 * clipped.Sum(m => m.Length), $"only {checkedValues} non-zero gradient values: the check would be vacuous");
    }

    private static (double Norm, float[][] FirstMoments) OneStep(TrainingOptions options, List<PackedSequence> rows)
    {
        using var model = new TinyLanguageModel(options.MethodName);
        MoR.Tests.Model.ModelTestData.Randomize(model.Layer.Adapter!, seed: 3); // B ≠ 0: every adapter tensor gets a gradient
        using var trainer = new Trainer(model, options, rows);
        double norm = double.NaN;
        trainer.StepCompleted += (_, m) => norm = m.GradNorm;
        Assert.True(trainer.Run().Completed);
        return (norm, [.. trainer.Optimizer.FirstMoments.Select(t => t.ToArray<float>())]);
    }
}
