using MoR.Adapters;
using MoR.Data;
using MoR.IO;
using MoR.Model;
using MoR.Modules;
using MoR.Numerics;
using MoR.Tests.Adapters;
using MoR.Training;

namespace MoR.Tests.Training;

/// <summary>
/// The router balance term through the trainer: the weight it hands the model per micro-batch (gradient
/// accumulation), the value it reports (α at uniform gates), the metrics line and the option's validation.
/// </summary>
public sealed class RouterBalanceTrainingTests
{
    private const int Vocab = 40;

    /// <summary>Forwards to a model and records the balance weight of every pass the trainer runs.</summary>
    private sealed class RecordingModel(ITrainingModel inner) : ITrainingModel
    {
        public List<float> Weights { get; } = [];

        public Device Device => inner.Device;

        public IReadOnlyList<ILinearAdapter> Adapters => inner.Adapters;

        public IReadOnlyList<Parameter> TrainableParameters() => inner.TrainableParameters();

        public LossResult ForwardBackward(TokenBatch batch, float gradScale, AdapterPass pass)
        {
            Weights.Add(pass.RouterBalanceWeight);
            return inner.ForwardBackward(batch, gradScale, pass);
        }

        public LossResult Evaluate(TokenBatch batch) => inner.Evaluate(batch);
    }

    private static LlamaModel TinyMoR(string method, RouterInit routerInit)
    {
        var config = new LlamaConfig
        {
            HiddenSize = 16,
            IntermediateSize = 24,
            NumHiddenLayers = 2,
            NumAttentionHeads = 2,
            VocabSize = Vocab,
            MaxPositionEmbeddings = 32,
        };
        LlamaModel model = LlamaModel.CreateRandom(config, Device.Cpu, seed: 5, trainable: false);
        AdapterInjector.Attach(model, Routed(method, 0f) with { RouterInit = routerInit }, seed: 3);
        return model;
    }

    private static List<PackedSequence> Rows(int count, int length, ulong seed)
    {
        var rng = new SeededRandom(seed);
        return [.. Enumerable.Range(0, count).Select(_ =>
        {
            int[] ids = [.. Enumerable.Range(0, length + 1).Select(_ => rng.NextInt(Vocab))];
            return new PackedSequence(ids[..length], ids[1..]);
        })];
    }

    private static RoutedAdapterConfig Routed(string method, float balance) =>
        (RoutedAdapterConfig)MoR.Tests.Adapters.TestAdapters.Config(method, rank: 2, alpha: 4, experts: 4, targets: ["up_proj", "down_proj"]) with { RouterBalanceLoss = balance };

    private static TrainingOptions Options(string method, float balance, int steps, int accumulation) => new()
    {
        Adapter = Routed(method, balance),
        LearningRate = 5e-2f,
        MaxSteps = steps,
        MicroBatchSize = 2,
        GradientAccumulation = accumulation,
        SequenceLength = 8,
        Seed = 7,
    };

    [Theory]
    [MemberData(nameof(MoR.Tests.Adapters.TestAdapters.RoutedMethods), MemberType = typeof(MoR.Tests.Adapters.TestAdapters))]
    public void Uniform_gates_report_exactly_alpha_and_each_micro_batch_gets_alpha_over_their_count(string method)
    {
        // Zero routers give gates of exactly 1/N; B = 0 keeps W_g's task gradient at 0 on step 1 and the balance
        // gradient is 0 at uniform gates, so W_g is still 0 in step 2's forward: both steps report exactly α.
        using LlamaModel model = TinyMoR(method, RouterInit.Zeros);
        var recorder = new RecordingModel(new LlamaTrainingModel(model));
        var reported = new List<double>();
        using var trainer = new Trainer(recorder, Options(method, 0.25f, steps: 2, accumulation: 3), Rows(12, 8, 1));
        trainer.StepCompleted += (_, m) => reported.Add(m.RouterBalanceLoss);
        trainer.Run();
        Assert.Equal([0.25, 0.25], reported);
        // Each micro-batch's pass carries α over the micro-batch count, already divided among the routed layers.
        int routedLayers = model.Linears.Values.Count(l => l.Adapter is IRoutedAdapter);
        Assert.Equal(4, routedLayers);
        Assert.Equal(Enumerable.Repeat(0.25f / 3 / routedLayers, 6), recorder.Weights);
    }

    [Fact]
    public void The_term_is_off_by_default_and_its_metric_appears_only_when_on()
    {
        using LlamaModel off = TinyMoR("mor", RouterInit.Normal);
        var steps = new List<StepMetrics>();
        using (var trainer = new Trainer(new LlamaTrainingModel(off), Options("mor", 0f, steps: 2, accumulation: 1), Rows(8, 8, 2)))
        {
            trainer.StepCompleted += (_, m) => steps.Add(m);
            trainer.Run();
        }

        Assert.All(steps, m => Assert.Equal(0, m.RouterBalanceLoss));
        Assert.False(MetricsLog.ToJson(steps[0]).ContainsKey("router_balance_loss"));

        using LlamaModel on = TinyMoR("mor", RouterInit.Normal);
        steps.Clear();
        using (var trainer = new Trainer(new LlamaTrainingModel(on), Options("mor", 0.1f, steps: 2, accumulation: 2), Rows(8, 8, 2)))
        {
            trainer.StepCompleted += (_, m) => steps.Add(m);
            trainer.Run();
        }

        // N(0, 0.02²) routers start near uniform: B̄ is just above 1, the reported term just above α.
        Assert.All(steps, m => Assert.InRange(m.RouterBalanceLoss, 0.1, 0.1 * 1.05));
        Assert.True(MetricsLog.ToJson(steps[0]).ContainsKey("router_balance_loss"));
    }

    [Theory]
    [InlineData("mor", -0.01f, "router balance loss must be a number >= 0; got -0.01.")]
    [InlineData("moe-lora", float.NaN, "router balance loss must be a number >= 0; got NaN.")]
    public void Bad_coefficients_are_rejected_naming_the_setting(string method, float balance, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => Options(method, balance, 1, 1).Validate());
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }
}
