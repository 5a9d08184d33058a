using System.Diagnostics;

namespace MoR.Interop;

/// <summary>
/// Attributes wall time to native entry points: while one is active on a thread, every
/// <see cref="NativeCall.Check"/> on that thread closes an interval that started at the previous one, so the
/// time of each call (plus the managed work that led to it) lands on that call's name. It is how
/// <c>mor bench train</c> breaks a step down by op without a profiler and without touching the ABI.
/// </summary>
/// <remarks>
/// Opt-in: a process turns it on with the AppContext switch <see cref="Switch"/> before its first native call (the
/// benchmark hosts do, in their runtimeconfig or at start-up); everywhere else <see cref="NativeCall.Check"/> carries no
/// trace of it.
/// </remarks>
/// <remarks>
/// Asynchronous backends need <paramref name="synchronize"/> (the device's stream synchronisation) so an
/// interval covers the op's execution rather than its launch; it runs after each call, so a timed step is
/// slower than an untimed one and only the shares are meant to be read. The synchronisation's own native
/// call is not recorded.
/// </remarks>
/// <param name="synchronize">Waits until the device has finished queued work (null: calls are synchronous).</param>
internal sealed class NativeCallTimer(Action? synchronize) : IDisposable
{
    /// <summary>The AppContext switch that turns native-call timing on for the process.</summary>
    public const string Switch = "MoR.Interop.NativeCallTiming";

    [ThreadStatic]
    private static NativeCallTimer? s_active;

    /// <summary>Whether <see cref="Switch"/> was on when native calls began: only then can a timer start.</summary>
    public static bool IsEnabled { get; } = AppContext.TryGetSwitch(Switch, out bool on) && on;

    private readonly Action? _synchronize = synchronize;
    private readonly Dictionary<string, (double Seconds, long Calls)> _totals = new(StringComparer.Ordinal);
    private long _last;
    private bool _synchronizing;

    /// <summary>Seconds and call counts per native function since <see cref="Start"/>.</summary>
    public IReadOnlyDictionary<string, (double Seconds, long Calls)> Totals => _totals;

    /// <summary>Makes this the calling thread's timer; the interval of the first call starts now.</summary>
    public NativeCallTimer Start()
    {
        if (!IsEnabled)
        {
            throw new InvalidOperationException($"Native-call timing is off in this process: set the AppContext switch {Switch} before the first native call.");
        }

        if (s_active is not null)
        {
            throw new InvalidOperationException("A NativeCallTimer is already active on this thread.");
        }

        _synchronize?.Invoke();
        _last = Stopwatch.GetTimestamp();
        s_active = this;
        return this;
    }

    /// <summary>Stops recording (the thread has no active timer afterwards).</summary>
    public void Dispose()
    {
        if (ReferenceEquals(s_active, this))
        {
            s_active = null;
        }
    }

    /// <summary>Called by <see cref="NativeCall.Check"/> after every native call.</summary>
    internal static void Record(string operation)
    {
        NativeCallTimer? timer = s_active;
        if (timer is null || timer._synchronizing)
        {
            return;
        }

        timer._synchronizing = true;
        try
        {
            timer._synchronize?.Invoke();
        }
        finally
        {
            timer._synchronizing = false;
        }

        long now = Stopwatch.GetTimestamp();
        double seconds = Stopwatch.GetElapsedTime(timer._last, now).TotalSeconds;
        (double s, long c) = timer._totals.GetValueOrDefault(operation);
        timer._totals[operation] = (s + seconds, c + 1);
        timer._last = now;
    }
}
