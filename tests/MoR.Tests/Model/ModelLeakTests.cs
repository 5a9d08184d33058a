using MoR.Tests.Adapters;
using MoR.Data;
using MoR.Adapters;
using MoR.Model;

namespace MoR.Tests.Model;

/// <summary>Disposing a model returns every native handle at once; a steady-state step allocates nothing. Process-wide counters: runs alone.</summary>
[Collection(NativeLeakCollection.Name)]
public sealed class ModelLeakTests
{
    [Fact]
    public void DisposingAModelWithAdaptersCachesAndActivationsFreesEveryHandle()
    {
        Settle();
        NativeHandleStats before = NativeDiagnostics.HandleStats;
        long liveBytes = Device.Cpu.AllocatorStats.LiveBytes;

        using (TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig()))
        using (LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu))
        {
            AdapterInjector.Attach(model, TestAdapters.Config("mor", rank: 2, experts: 2));
            var batch = new TokenBatch(2, 7, ModelTestData.Ids(14, 50, 1), ModelTestData.Targets(14, 50, 2));
            model.ForwardBackward(batch, 1f);
            model.RecomputeActivations = true;
            model.ForwardBackward(batch, 1f);
            model.Evaluate(batch);
            using KvCache cache = model.NewCache(8);
            model.Decode(cache, [1, 2, 3]);
            model.Decode(cache, [4]);
            string dir = TinyCheckpoint.TempDir();
            AdapterFolder.Save(dir, model);
            model.Save(dir, DType.BF16);
            Directory.Delete(dir, true);
        }

        // No collection needed: Dispose frees everything eagerly.
        Assert.Equal(before, NativeDiagnostics.HandleStats);
        Assert.Equal(liveBytes, Device.Cpu.AllocatorStats.LiveBytes);
    }

    [Fact]
    public void ASteadyStateFullFineTuningStepAllocatesNothing()
    {
        Settle();
        using LlamaModel model = LlamaModel.CreateRandom(TinyCheckpoint.TinyConfig(), Device.Cpu, 1, trainable: true);
        var batch = new TokenBatch(2, 7, ModelTestData.Ids(14, 50, 1), ModelTestData.Targets(14, 50, 2));
        model.ForwardBackward(batch, 1f);
        NativeHandleStats handles = NativeDiagnostics.HandleStats;
        AllocatorStats after1 = Device.Cpu.AllocatorStats;
        Device.Cpu.ResetPeakBytes();
        model.ForwardBackward(batch, 1f);
        model.ForwardBackward(batch, 1f);
        AllocatorStats after3 = Device.Cpu.AllocatorStats;
        Assert.Equal(handles, NativeDiagnostics.HandleStats);
        Assert.Equal(after1.LiveBytes, after3.LiveBytes);
        Assert.Equal(after1.LiveBytes, after3.PeakBytes); // not even a transient buffer
    }

    [Fact]
    public void ASteadyStateAdapterStepOnlyReusesCachedScratch()
    {
        Settle();
        using LlamaModel model = LlamaModel.CreateRandom(TinyCheckpoint.TinyConfig(), Device.Cpu, 1, trainable: false);
        AdapterInjector.Attach(model, TestAdapters.Config("mor", rank: 2, experts: 2));
        var batch = new TokenBatch(2, 7, ModelTestData.Ids(14, 50, 1), ModelTestData.Targets(14, 50, 2));
        model.ForwardBackward(batch, 1f);
        model.ForwardBackward(batch, 1f);
        NativeHandleStats handles = NativeDiagnostics.HandleStats;
        AllocatorStats before = Device.Cpu.AllocatorStats;
        model.ForwardBackward(batch, 1f);
        AllocatorStats after = Device.Cpu.AllocatorStats;

        // The adapter kernels take their scratch from the caching allocator: no new handle, no system allocation.
        Assert.Equal(handles, NativeDiagnostics.HandleStats);
        Assert.Equal(before.LiveBytes, after.LiveBytes);
        Assert.Equal(before.SystemAllocations, after.SystemAllocations);
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
