using MoR.Interop;

namespace MoR.Tests.Benchmarks;

/// <summary>The per-native-call timer behind <c>mor bench train</c>'s breakdown.</summary>
public sealed class NativeCallTimerTests
{
    [Fact]
    public void Each_checked_native_call_is_recorded_under_its_name_until_disposed()
    {
        using Tensor a = Tensor.FromSpan<float>(Device.Cpu, [1, 2, 3, 4], 2, 2);
        using Tensor b = Tensor.FromSpan<float>(Device.Cpu, [1, 0, 0, 1], 2, 2);
        int synchronized = 0;
        Dictionary<string, (double Seconds, long Calls)> totals;
        using (NativeCallTimer timer = new NativeCallTimer(() => synchronized++).Start())
        {
            using Tensor c = Tensor.MatMul(a, b);
            using Tensor d = Tensor.MatMul(a, b);
            totals = new(timer.Totals);
            Assert.Throws<InvalidOperationException>(() => new NativeCallTimer(null).Start());
        }

        Assert.Equal(2, totals["mor_gemm"].Calls);
        Assert.True(totals["mor_gemm"].Seconds >= 0);
        // Start synchronises once, then once after every recorded call; the synchronisation itself is not recorded.
        Assert.Equal(1 + totals.Values.Sum(t => t.Calls), synchronized);

        using Tensor e = Tensor.MatMul(a, b); // after Dispose: no timer on this thread, nothing recorded
        using NativeCallTimer next = new NativeCallTimer(null).Start();
        Assert.Empty(next.Totals);
    }
}
