using MoR.Adapters;
using MoR.Data;
using MoR.IO;
using MoR.Model;
using MoR.Numerics;
using MoR.Tests.Adapters;
using MoR.Training;

namespace MoR.Tests.Training;

/// <summary>
/// The estimate against what training really allocates: the native allocator's high-water mark over building a model,
/// attaching adapters and two optimizer steps must stay below the estimate's device part (it is an upper estimate) and
/// above 80 % of it (it is not padded). Process-wide allocator counters: runs alone.
/// </summary>
[Collection(NativeLeakCollection.Name)]
public sealed class TrainingMemoryMeasuredTests
{
    [Theory]
    [InlineData("lora", false)]
    [InlineData("dora", false)]
    [InlineData("moe-lora", false)]
    [InlineData("mor", false)]
    [InlineData("mor", true)]
    [InlineData("full", false)]
    public void The_allocator_peak_of_a_training_run_is_within_the_estimate(string method, bool recompute)
    {
        LlamaConfig config = new()
        {
            HiddenSize = 64,
            IntermediateSize = 160,
            NumHiddenLayers = 2,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            VocabSize = 300,
            MaxPositionEmbeddings = 256,
        };
        var options = new TrainingOptions
        {
            Adapter = TestAdapters.ConfigOrFull(method, rank: 8, experts: 4, targets: ["q_proj", "v_proj", "gate_proj", "up_proj", "down_proj"]),
            MicroBatchSize = 3,
            SequenceLength = 96,
            MaxSteps = 2,
            LearningRate = 1e-3f,
        };
        Settle();
        long before = Device.Cpu.AllocatorStats.LiveBytes;
        Device.Cpu.ResetPeakBytes();
        using (LlamaModel model = LlamaModel.CreateRandom(config, Device.Cpu, seed: 1, trainable: options.FullFineTuning))
        {
            model.RecomputeActivations = recompute;
            if (options.Adapter is { } adapter)
            {
                AdapterInjector.Attach(model, adapter);
            }

            using var trainer = new Trainer(new LlamaTrainingModel(model), options, Rows(8, options.SequenceLength, config.VocabSize));
            trainer.Run();
        }

        long peak = Device.Cpu.AllocatorStats.PeakBytes - before;
        double estimate = TrainingMemoryEstimate.For(config, options, frozenBytesPerValue: 4, recompute, attentionWorkers: 0).DeviceBytes;
        Assert.True(peak <= estimate, $"{method}: the allocator peaked at {peak:N0} bytes, above the estimate {estimate:N0}");
        Assert.True(peak >= 0.8 * estimate, $"{method}: the allocator peaked at {peak:N0} bytes, under 80 % of the estimate {estimate:N0}");
    }

    private static List<PackedSequence> Rows(int count, int length, int vocab)
    {
        var rng = new SeededRandom(7);
        return [.. Enumerable.Range(0, count).Select(_ =>
        {
            int[] ids = [.. Enumerable.Range(0, length).Select(_ => rng.NextInt(vocab))];
            return new PackedSequence(ids, [.. ids.Skip(1).Append(TokenizedExample.IgnoreIndex)]);
        })];
    }

    private static void Settle()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            NativeDiagnostics.DrainDeferredFrees();
        }
    }
}
