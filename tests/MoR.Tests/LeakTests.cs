using System.Runtime.CompilerServices;
using MoR.Interop;
using MoR.Tests.Infrastructure;

namespace MoR.Tests;

/// <summary>Runs alone: the counters it compares are process-wide.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeLeakCollection
{
    public const string Name = "Native leaks";
}

/// <summary>
/// Native handles and allocator bytes return to their baseline after Dispose, and after collection of
/// tensors nobody disposed once the deferred frees are drained.
/// </summary>
[Collection(NativeLeakCollection.Name)]
public sealed unsafe class LeakTests
{
    [Fact]
    public void DisposedTensorsReturnEveryHandleAndByte()
    {
        Settle();
        NativeHandleStats handles = NativeDiagnostics.HandleStats;
        AllocatorStats bytes = Device.Cpu.AllocatorStats;

        using (Tensor a = Tensor.FromSpan<float>(Device.Cpu, ReferenceGemm.RandomMatrix(64 * 32, 1), 64, 32))
        using (Tensor b = Tensor.Zeros(Device.Cpu, DType.BF16, 32, 16))
        using (Tensor product = Tensor.MatMul(a, b))
        using (Tensor view = product.Reshape(-1))
        using (Tensor half = view.To(DType.F16))
        using (Tensor copy = half.Clone())
        using (Tensor ids = Tensor.FromSpan<long>(Device.Cpu, [1, 2, 3]))
        {
            Assert.Equal(handles.Buffers + 6, NativeDiagnostics.HandleStats.Buffers);
            Assert.Equal(bytes.LiveAllocations + 6, Device.Cpu.AllocatorStats.LiveAllocations);
        }

        Assert.Equal(handles, NativeDiagnostics.HandleStats);
        AllocatorStats after = Device.Cpu.AllocatorStats;
        Assert.Equal(bytes.LiveBytes, after.LiveBytes);
        Assert.Equal(bytes.LiveAllocations, after.LiveAllocations);
    }

    [Fact]
    public void CollectedTensorsAreFreedOnTheNextDrainNotOnTheFinalizerThread()
    {
        Settle();
        MorHandleStats before = RawHandleStats();
        long liveBytes = Device.Cpu.AllocatorStats.LiveBytes;

        AllocateAndAbandon(Device.Cpu, count: 10);
        GC.Collect();
        GC.WaitForPendingFinalizers();

        // Finalized but not yet freed: the finalizer thread only queued them.
        Assert.Equal(before.Buffers + 10, RawHandleStats().Buffers);
        Assert.True(NativeDiagnostics.PendingDeferredFrees >= 10);

        Assert.True(NativeDiagnostics.DrainDeferredFrees() >= 10);
        Assert.Equal(before.Buffers, RawHandleStats().Buffers);
        Assert.Equal(0, NativeDiagnostics.PendingDeferredFrees);
        Assert.Equal(liveBytes, Device.Cpu.AllocatorStats.LiveBytes);
        Assert.Equal(0, NativeResources.FailedFrees);
    }

    [Fact]
    public void TheNextAllocationDrainsTheQueue()
    {
        Settle();
        MorHandleStats before = RawHandleStats();

        AllocateAndAbandon(Device.Cpu, count: 3);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using Tensor next = Tensor.Empty(Device.Cpu, DType.F32, 1);

        Assert.Equal(before.Buffers + 1, RawHandleStats().Buffers);
    }

    [Fact]
    public void AViewKeepsTheBufferUntilItsLastOwnerGoes()
    {
        Settle();
        long buffers = NativeDiagnostics.HandleStats.Buffers;

        Tensor original = Tensor.Zeros(Device.Cpu, DType.F32, 4, 4);
        Tensor view = original.Reshape(16);
        Assert.Equal(buffers + 1, NativeDiagnostics.HandleStats.Buffers);

        original.Dispose();
        Assert.Equal(buffers + 1, NativeDiagnostics.HandleStats.Buffers);

        view.Dispose();
        Assert.Equal(buffers, NativeDiagnostics.HandleStats.Buffers);
    }

    [Fact]
    public void ABufferKeepsItsContextOpen()
    {
        Settle();
        MorHandleStats before = RawHandleStats();

        var context = ContextHandle.Create(MorBackend.Cpu, 0);
        BufferHandle buffer = BufferHandle.Create(context, MorDType.F32, 8);
        context.Dispose();

        Assert.False(context.IsClosed); // disposed, but the buffer still holds a reference
        Assert.Equal(before.Contexts + 1, RawHandleStats().Contexts);
        NativeCall.Check(NativeMethods.mor_buffer_fill(buffer, 0, 8, 1.0, StreamHandle.Default), "mor_buffer_fill");

        buffer.Dispose();
        Assert.True(context.IsClosed);
        Assert.Equal(before.Contexts, RawHandleStats().Contexts);
        Assert.Equal(before.Buffers, RawHandleStats().Buffers);
    }

    [Fact]
    public void StreamsAreFreedOnDisposeAndAfterCollection()
    {
        Settle();
        MorHandleStats before = RawHandleStats();

        StreamHandle stream = StreamHandle.Create(Device.Cpu.Context);
        NativeCall.Check(NativeMethods.mor_stream_synchronize(stream), "mor_stream_synchronize");
        Assert.Equal(before.Streams + 1, RawHandleStats().Streams);
        stream.Dispose();
        Assert.Equal(before.Streams, RawHandleStats().Streams);

        CreateAndAbandonStream(Device.Cpu);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        NativeDiagnostics.DrainDeferredFrees();
        Assert.Equal(before.Streams, RawHandleStats().Streams);
    }

    [Fact]
    public void TheNullHandlesCannotBeDisposed()
    {
        BufferHandle.Null.Dispose();
        StreamHandle.Default.Dispose();

        Assert.False(BufferHandle.Null.IsClosed);
        Assert.False(StreamHandle.Default.IsClosed);
        using Tensor tensor = Tensor.Zeros(Device.Cpu, DType.F32, 2); // uses StreamHandle.Default
    }

    [GpuFact]
    public void GpuTensorsReturnTheirMemory()
    {
        Settle();
        Device gpu = Device.Cuda();
        AllocatorStats before = gpu.AllocatorStats;
        NativeHandleStats handles = NativeDiagnostics.HandleStats;

        using (Tensor a = Tensor.Zeros(gpu, DType.F32, 512, 512))
        using (Tensor b = Tensor.MatMul(a, a))
        {
            Assert.Equal(before.LiveAllocations + 2, gpu.AllocatorStats.LiveAllocations);
        }

        AllocateAndAbandon(gpu, count: 4);
        Settle();

        Assert.Equal(before.LiveBytes, gpu.AllocatorStats.LiveBytes);
        Assert.Equal(before.LiveAllocations, gpu.AllocatorStats.LiveAllocations);
        Assert.Equal(handles, NativeDiagnostics.HandleStats);
    }

    // Garbage from earlier tests is finalized and freed first, so the baseline is stable.
    private static void Settle()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            NativeDiagnostics.DrainDeferredFrees();
        }
    }

    private static MorHandleStats RawHandleStats()
    {
        MorHandleStats stats;
        NativeCall.Check(NativeMethods.mor_handle_stats_get(&stats), "mor_handle_stats_get");
        return stats;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AllocateAndAbandon(Device device, int count)
    {
        for (int i = 0; i < count; i++)
        {
            _ = Tensor.Zeros(device, DType.F32, 1000);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CreateAndAbandonStream(Device device) => _ = StreamHandle.Create(device.Context);
}
