using MoR.Adapters;
using MoR.Benchmarks;
using MoR.Cli;
using MoR.Model;
using MoR.Tests.Cli;
using MoR.Training;

namespace MoR.Tests;

/// <summary>
/// <see cref="Device.CpuThreads"/> and <c>mor --threads</c>: the count is settable, results do not depend on it, and
/// a small model's ops stay on the calling thread. Non-parallel collection: the count is process-wide.
/// </summary>
[Collection(NativeLeakCollection.Name)]
public sealed class CpuThreadsTests
{
    [Fact]
    public void TheThreadCountCanBeSetReadAndRestoredToTheDefault()
    {
        try
        {
            Device.CpuThreads = 1;
            Assert.Equal(1, Device.CpuThreads);
            Assert.Equal(1, Device.CpuThreadStats.Threads);
            Device.CpuThreads = 3;
            Assert.Equal(3, Device.CpuThreads);
            Assert.Throws<ArgumentOutOfRangeException>(() => Device.CpuThreads = -1);
            Assert.Throws<ArgumentOutOfRangeException>(() => Device.CpuThreads = Device.MaxCpuThreads + 1);
            Assert.Equal(3, Device.CpuThreads);
        }
        finally
        {
            Device.CpuThreads = 0;
        }

        Assert.InRange(Device.CpuThreads, 1, Device.MaxCpuThreads);
    }

    [Fact]
    public void TrainingStepsAreBitIdenticalOnOneTwoAndThreeThreads()
    {
        // Large enough (8 x 64 tokens, d = 64) that GEMM tiles, attention tasks and the element-wise loops are shared.
        IReadOnlyList<double> Losses(int threads, string method)
        {
            Device.CpuThreads = threads;
            try
            {
                using LlamaModel model = LlamaModel.CreateRandom(ModelPreset.Get("tiny"), Device.Cpu, seed: 3, trainable: method == "full");
                long parallelBefore = Device.CpuThreadStats.ParallelLoops;
                TrainBenchmarkResult r = TrainBenchmark.Run(
                    model, "tiny", new TrainBenchmarkOptions(method, Batch: 8, SeqLen: 64, Steps: 3, Warmup: 1, Rank: 4, Experts: 4, LearningRate: 1e-2f, Breakdown: false));
                if (threads > 1)
                {
                    Assert.True(Device.CpuThreadStats.ParallelLoops > parallelBefore, $"nothing ran in parallel on {threads} threads");
                }

                return r.Losses;
            }
            finally
            {
                Device.CpuThreads = 0;
            }
        }

        foreach (string method in new[] { "mor", AdapterMethods.FullFineTuning })
        {
            IReadOnlyList<double> one = Losses(1, method);
            Assert.Equal(4, one.Count);
            Assert.True(one[^1] < one[0], $"{method}: the loss did not go down ({string.Join(", ", one)})");
            Assert.Equal(one, Losses(2, method));
            Assert.Equal(one, Losses(3, method));
        }
    }

    [Fact]
    public void ATwoLayerD64ModelOnAFewTokensComputesOnTheCallingThreadAlone()
    {
        Device.CpuThreads = 2;
        try
        {
            using LlamaModel model = LlamaModel.CreateRandom(ModelPreset.Get("tiny"), Device.Cpu, seed: 3, trainable: false);
            CpuThreadStats before = Device.CpuThreadStats;
            TrainBenchmark.Run(model, "tiny", new TrainBenchmarkOptions("mor", Batch: 1, SeqLen: 16, Steps: 2, Warmup: 1, Rank: 4, Experts: 4, Breakdown: false));
            CpuThreadStats after = Device.CpuThreadStats;
            Assert.Equal(before.ParallelLoops, after.ParallelLoops);
            Assert.Equal(before.InlineLoops, after.InlineLoops);
            Assert.True(after.SerialLoops > before.SerialLoops + 100, $"{after.SerialLoops - before.SerialLoops} serial loops");
        }
        finally
        {
            Device.CpuThreads = 0;
        }
    }

    [Fact]
    public void MorThreadsSetsTheCountForTheCommand()
    {
        try
        {
            (int code, string output, string err) = CliRunner.Run("selftest", "--threads", "1");
            Assert.True(code == ExitCodes.Ok, err);
            Assert.Contains("cpu threads      1", output, StringComparison.Ordinal);
            Assert.Equal(1, Device.CpuThreads);
        }
        finally
        {
            Device.CpuThreads = 0;
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-2")]
    [InlineData("5000")]
    [InlineData("two")]
    public void ABadThreadCountIsAOneLineUsageError(string value)
    {
        (int code, string output, string err) = CliRunner.Run("selftest", "--threads", value);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Equal(string.Empty, output);
        string line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("mor: usage error: ", line, StringComparison.Ordinal);
        Assert.Contains("--threads", line, StringComparison.Ordinal);
    }
}
