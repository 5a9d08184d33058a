using MoR.Adapters;
using MoR.Benchmarks;
using MoR.Data;
using MoR.IO;
using MoR.Model;
using MoR.Training;

namespace MoR.Tests.Benchmarks;

/// <summary>
/// <see cref="TrainBenchmark"/> on the tiny preset: real steps through the trainer; what is asserted is what the
/// numbers mean (losses, parameter counts, breakdown, allocation counts, FLOP formula), never how fast anything is.
/// In the non-parallel native collection: the allocation count is the CPU device's, which tests running beside
/// these would move.
/// </summary>
[Collection(NativeLeakCollection.Name)]
public sealed class TrainBenchmarkTests
{
    private static readonly TrainBenchmarkOptions Tiny = new(Batch: 2, SeqLen: 16, Steps: 2, Warmup: 1, Rank: 4, Experts: 3);

    [Theory]
    [InlineData("lora")]
    [InlineData("mor")]
    [InlineData("moe-lora")]
    [InlineData("full")]
    public void Every_method_reports_steps_losses_parameters_and_a_breakdown(string method)
    {
        LlamaConfig config = ModelPreset.Get("tiny");
        using LlamaModel model = LlamaModel.CreateRandom(config, Device.Cpu, seed: 3, trainable: method == AdapterMethods.FullFineTuning);

        TrainBenchmarkResult r = TrainBenchmark.Run(model, "tiny", Tiny with { Method = method });

        Assert.Equal(method, r.Method);
        Assert.Equal(Tiny.Warmup + Tiny.Steps + 1, r.Losses.Count); // warm-up, timed, profiled
        Assert.All(r.Losses, l => Assert.True(double.IsFinite(l) && l > 0));
        Assert.Equal(Tiny.Steps, r.Step.Iterations);
        Assert.Equal(TrainBenchmark.ParameterCount(config), r.ModelParameters);
        Assert.Equal(model.TrainableParameters().Sum(p => p.Numel), r.TrainableParameters);
        Assert.Equal(method == AdapterMethods.FullFineTuning ? r.ModelParameters : model.Linears.Values.Sum(l => l.Adapter?.Parameters.Sum(p => p.Numel) ?? 0),
            r.TrainableParameters);
        Assert.Equal(2.0 * 16 / (r.Step.MedianMs / 1000), r.TokensPerSecond, 6);
        // A step after warm-up reuses the activations and the allocator's cached blocks.
        Assert.Equal(0, r.SteadyStateAllocations);
        Assert.True(r.PeakDeviceBytes > 0 && r.PeakResidentBytes > r.PeakDeviceBytes);

        Assert.Equal(1.0, r.Breakdown.Sum(o => o.Share), 6);
        string[] expected = method == AdapterMethods.FullFineTuning
            ? ["gemm", "attention", "norm/rope/swiglu/embedding", "cross-entropy", "optimizer"]
            : ["gemm", "attention", "adapter kernels", "norm/rope/swiglu/embedding", "cross-entropy", "optimizer"];
        Assert.Subset(r.Breakdown.Select(o => o.Name).ToHashSet(), expected.ToHashSet());
        Assert.Equal(r.Breakdown.Select(o => o.Name), r.Breakdown.Select(o => o.Name).OrderBy(n => OpCategory.Ordered.ToList().IndexOf(n)));
        // 2 attention calls per layer: forward and backward.
        Assert.Equal(2 * config.NumHiddenLayers, r.Breakdown.Single(o => o.Name == "attention").Calls);
        Assert.Contains(r.TopFunctions, f => f.Name == "mor_adamw_step");
    }

    [Fact]
    public void The_first_loss_is_the_initial_models_loss_on_the_same_rows()
    {
        using LlamaModel model = LlamaModel.CreateRandom(ModelPreset.Get("tiny"), Device.Cpu, seed: 5, trainable: false);
        IReadOnlyList<PackedSequence> rows = TrainBenchmark.RandomRows(model.Config.VocabSize, 2, 16, seed: 9);
        LossResult before = model.Evaluate(new TokenBatch(2, 16, [.. rows.SelectMany(r => r.InputIds)], [.. rows.SelectMany(r => r.Targets)]));

        TrainBenchmarkResult r = TrainBenchmark.Run(model, "tiny", Tiny with { Method = "lora" }, rows);

        // LoRA starts with B = 0: the adapted model's first loss is the base model's.
        Assert.Equal(before.LossSum / before.Tokens, r.Losses[0], 5);
        Assert.True(r.Losses[^1] < r.Losses[0], "training on one batch lowers its loss");
    }

    [Fact]
    public void Mismatched_model_and_method_and_bad_rows_are_rejected()
    {
        using LlamaModel frozen = LlamaModel.CreateRandom(ModelPreset.Get("tiny"), Device.Cpu, seed: 1, trainable: false);
        Assert.Contains("trainable", Assert.Throws<ArgumentException>(() => TrainBenchmark.Run(frozen, "tiny", Tiny with { Method = AdapterMethods.FullFineTuning })).Message,
            StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => TrainBenchmark.Run(frozen, "tiny", Tiny, TrainBenchmark.RandomRows(256, 1, 16, 0)));
        Assert.Throws<ArgumentException>(() => TrainBenchmark.Run(frozen, "tiny", Tiny with { Steps = 0 }));
    }

    [Fact]
    public void Step_flops_follow_the_matmul_and_attention_count()
    {
        var config = new LlamaConfig { HiddenSize = 8, IntermediateSize = 12, NumHiddenLayers = 2, NumAttentionHeads = 2, NumKeyValueHeads = 1, VocabSize = 10 };
        // Per layer: q 8·8, k 8·4, v 8·4, o 8·8, gate/up/down 3·8·12 = 480; head 10·8 = 80 → 1040 matmul weights.
        const double Weights = (2 * 480) + 80;
        const double Tokens = 3 * 5;
        double attention = 3 * 2.0 * 3 * 5 * 5 * 8 * 2; // 2·B·T²·(H·D)·layers forward, ×3 with backward
        Assert.Equal((4 * Weights * Tokens) + attention, TrainBenchmark.StepFlops(config, 3, 5, full: false), 6);
        Assert.Equal((6 * Weights * Tokens) + attention, TrainBenchmark.StepFlops(config, 3, 5, full: true), 6);
    }

    [Fact]
    public void Random_models_are_the_same_for_the_same_seed_and_bf16_when_asked()
    {
        LlamaConfig config = ModelPreset.Get("tiny");
        using LlamaModel a = LlamaModel.CreateRandom(config, Device.Cpu, seed: 7, trainable: false);
        using LlamaModel b = LlamaModel.CreateRandom(config, Device.Cpu, seed: 7, trainable: false);
        using LlamaModel c = LlamaModel.CreateRandom(config, Device.Cpu, seed: 8, trainable: false);
        using LlamaModel bf16 = LlamaModel.CreateRandom(config, Device.Cpu, seed: 7, trainable: false, DType.BF16);
        Tensor wa = a.Linears.Values.First().Base.Weight, wb = b.Linears.Values.First().Base.Weight, wc = c.Linears.Values.First().Base.Weight;
        Assert.Equal(wa.ToArray<float>(), wb.ToArray<float>());
        Assert.NotEqual(wa.ToArray<float>(), wc.ToArray<float>());
        Tensor w16 = bf16.Linears.Values.First().Base.Weight;
        Assert.Equal(DType.BF16, w16.DType);
        using Tensor widened = w16.To(DType.F32);
        Assert.Equal(wa.ToArray<float>().Select(v => (float)(BFloat16)v), widened.ToArray<float>());
        float[] values = wa.ToArray<float>();
        double std = Math.Sqrt(values.Select(v => (double)v * v).Average());
        Assert.InRange(std, 0.015, 0.025); // initializer_range 0.02
    }
}
