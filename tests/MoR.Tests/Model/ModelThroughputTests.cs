using System.Diagnostics;
using MoR.IO;
using MoR.Model;
using Xunit.Abstractions;

namespace MoR.Tests.Model;

/// <summary>
/// Opt-in CPU throughput numbers (tests never assert wall-clock times): set <c>MOR_BENCH=1</c> and run
/// <c>dotnet test -p:MorCuda=OFF --filter FullyQualifiedName~ModelThroughputTests --logger "console;verbosity=detailed"</c>.
/// Without the variable the test only builds a tiny model and returns.
/// </summary>
public sealed class ModelThroughputTests(ITestOutputHelper output)
{
    [Fact]
    public void EvaluateAndTrainingStepThroughputOfAHundredMillionParameterModel()
    {
        bool run = Environment.GetEnvironmentVariable("MOR_BENCH") == "1";
        // ~100M parameters: LLaMA-style 12 x 768 with GQA (4 KV heads), SwiGLU 2048, 32k vocabulary, tied head.
        LlamaConfig config = run
            ? new() { HiddenSize = 768, IntermediateSize = 2048, NumHiddenLayers = 12, NumAttentionHeads = 12, NumKeyValueHeads = 4, VocabSize = 32000, TieWordEmbeddings = true }
            : TinyCheckpoint.TinyConfig();
        int batch = run ? 4 : 1, seq = run ? 512 : 8;
        using LlamaModel model = LlamaModel.CreateRandom(config, Device.Cpu, 1, trainable: false);
        long parameters = config.ExpectedTensors().Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));
        int[] ids = ModelTestData.Ids(batch * seq, config.VocabSize, 1);
        var tokens = TokenBatch.NextTokenPrediction(ids);
        tokens = new TokenBatch(batch, seq, ids, tokens.Targets);
        model.Evaluate(tokens); // warm-up: allocates the activations
        var watch = Stopwatch.StartNew();
        int reps = run ? 3 : 1;
        for (int i = 0; i < reps; i++) model.Evaluate(tokens);
        double evalRate = reps * (double)batch * seq / watch.Elapsed.TotalSeconds;

        AdapterInjector.Attach(model, new AdapterSpec { Kind = MoR.Adapters.AdapterKind.MoR, Rank = 16, Experts = 8 });
        model.ForwardBackward(tokens, 1f);
        watch.Restart();
        for (int i = 0; i < reps; i++) model.ForwardBackward(tokens, 1f);
        double trainRate = reps * (double)batch * seq / watch.Elapsed.TotalSeconds;
        output.WriteLine($"{parameters / 1e6:F1}M parameters, batch {batch} x {seq}, {Environment.ProcessorCount} CPUs: " +
                         $"Evaluate {evalRate:F0} tokens/s; MoR (r=16, N=8, FFN) ForwardBackward {trainRate:F0} tokens/s");
        Assert.True(evalRate > 0 && trainRate > 0);
    }
}
