using System.Collections.Concurrent;
using System.Globalization;
using MoR.Interop;

namespace MoR;

/// <summary>
/// A compute device: the CPU or one CUDA GPU. Each device has one native context for the life of the
/// process, created on first use (thread-safe); <see cref="Device"/> instances are shared, so reference
/// equality is device equality.
/// </summary>
public sealed unsafe class Device
{
    private static readonly ConcurrentDictionary<int, Device> s_cudaDevices = new();
    private static readonly Lazy<string?> s_cudaUnavailableReason = new(ProbeCuda, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly Lock _gate = new();
    private ContextHandle? _context;
    private bool _allowTf32;
    private MorDeviceInfo? _info;

    private Device(DeviceKind kind, int index)
    {
        Kind = kind;
        Index = index;
    }

    /// <summary>The host CPU. Always available once the native library loads.</summary>
    public static Device Cpu { get; } = new(DeviceKind.Cpu, 0);

    /// <summary>
    /// Whether at least one CUDA device can be used: the native library was built with CUDA and a driver
    /// and GPU are present. Never throws (also false when the native library cannot be loaded).
    /// </summary>
    public static bool IsCudaAvailable => s_cudaUnavailableReason.Value is null;

    /// <summary>Why <see cref="IsCudaAvailable"/> is false, in the native library's words; null when available.</summary>
    public static string? CudaUnavailableReason => s_cudaUnavailableReason.Value;

    /// <summary>Number of usable CUDA devices; 0 without CUDA support, driver or GPU.</summary>
    /// <exception cref="NativeLibraryLoadException">The native library cannot be loaded.</exception>
    public static int CudaDeviceCount
    {
        get
        {
            int count;
            NativeCall.Check(NativeMethods.mor_device_count(MorBackend.Cuda, &count), nameof(NativeMethods.mor_device_count));
            return count;
        }
    }

    /// <summary>
    /// Threads the CPU backend computes with, the calling thread included: one process-wide pool that runs the
    /// library's kernels and the tiles of its (single-threaded) BLAS products. Defaults to the CPUs this process
    /// may use (its affinity mask and cgroup CPU quota; the <c>MOR_NUM_THREADS</c> or <c>OMP_NUM_THREADS</c>
    /// environment variables override that). Setting 0 restores the default. Results are bit-identical whatever
    /// the count, so it trades only speed — for example 1 leaves the other cores to other work.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or above 4096.</exception>
    public static int CpuThreads
    {
        get
        {
            int threads;
            NativeCall.Check(NativeMethods.mor_cpu_get_threads(&threads), nameof(NativeMethods.mor_cpu_get_threads));
            return threads;
        }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxCpuThreads);
            NativeCall.Check(NativeMethods.mor_cpu_set_threads(value), nameof(NativeMethods.mor_cpu_set_threads));
        }
    }

    /// <summary>The most threads <see cref="CpuThreads"/> accepts.</summary>
    public const int MaxCpuThreads = 4096;

    /// <summary>The CPU thread pool's counters since the process started.</summary>
    public static CpuThreadStats CpuThreadStats
    {
        get
        {
            MorCpuThreadStats s;
            NativeCall.Check(NativeMethods.mor_cpu_thread_stats_get(&s), nameof(NativeMethods.mor_cpu_thread_stats_get));
            return new CpuThreadStats(s.SerialLoops, s.ParallelLoops, s.InlineLoops, s.WorkerSleeps, s.Threads, s.Workers);
        }
    }

    /// <summary>Which backend this device runs on.</summary>
    public DeviceKind Kind { get; }

    /// <summary>The device ordinal within its kind (0 for the CPU).</summary>
    public int Index { get; }

    /// <summary>The device's name (<c>cpu</c>, or the GPU's product name).</summary>
    public string Name => Info.GetName();

    /// <summary>Total device memory in bytes (0 for the CPU).</summary>
    public long TotalMemoryBytes => Info.TotalMemoryBytes;

    /// <summary>Device memory free right now (cudaMemGetInfo: what other processes and this one hold is not free); CUDA only.</summary>
    /// <exception cref="NotSupportedException">The device is the CPU (its memory is the host's: see <see cref="AvailableMemory"/>).</exception>
    public long FreeMemoryBytes
    {
        get
        {
            if (Kind != DeviceKind.Cuda)
            {
                throw new NotSupportedException("The CPU's free memory is the host's: use AvailableMemory.Host().");
            }

            long free, total;
            NativeCall.Check(NativeMethods.mor_device_memory_get(MorBackend.Cuda, Index, &free, &total), nameof(NativeMethods.mor_device_memory_get));
            return free;
        }
    }

    /// <summary>The GPU's compute capability (for example 8.0), or null for the CPU.</summary>
    public Version? ComputeCapability =>
        Kind == DeviceKind.Cuda ? new Version(Info.ComputeCapabilityMajor, Info.ComputeCapabilityMinor) : null;

    /// <summary>
    /// Whether F32 matrix products on this device — <see cref="Tensor.MatMul(Tensor, Tensor, bool, bool)"/> and
    /// the GEMMs inside the adapter ops — may use TF32 tensor cores (CUDA only; about 1e-3 relative error instead
    /// of 1e-6). Off by default, as in PyTorch. Worth turning on with a BF16 frozen base, whose GEMMs run on
    /// tensor cores while F32 adapter GEMMs would not. Also lets attention (head_dim 64/128, sm_80+) run on BF16
    /// tensor cores (about 3e-3 relative error; MOR_ATTENTION=f32 keeps the F32 kernels).
    /// </summary>
    public bool AllowTf32
    {
        get => _allowTf32;
        set
        {
            NativeCall.Check(
                NativeMethods.mor_context_set_allow_tf32(Context, value ? 1 : 0), nameof(NativeMethods.mor_context_set_allow_tf32));
            _allowTf32 = value;
        }
    }

    /// <summary>This device's allocator counters, read after freeing what finalizers have queued.</summary>
    public AllocatorStats AllocatorStats
    {
        get
        {
            NativeResources.DrainDeferredFrees();
            MorAllocatorStats stats;
            NativeCall.Check(NativeMethods.mor_allocator_stats_get(Context, &stats), nameof(NativeMethods.mor_allocator_stats_get));
            return new AllocatorStats(
                stats.LiveBytes, stats.LiveAllocations, stats.PeakBytes, stats.CachedBytes, stats.ReservedBytes, stats.SystemAllocations);
        }
    }

    /// <summary>The device's native context, created on first use and kept for the process lifetime.</summary>
    /// <exception cref="DeviceUnavailableException">The device cannot be opened.</exception>
    internal ContextHandle Context
    {
        get
        {
            ContextHandle? context = Volatile.Read(ref _context);
            if (context is not null)
            {
                return context;
            }

            lock (_gate)
            {
                context = _context;
                if (context is null)
                {
                    context = ContextHandle.Create(Kind == DeviceKind.Cuda ? MorBackend.Cuda : MorBackend.Cpu, Index);
                    Volatile.Write(ref _context, context); // published fully built to lock-free readers
                }

                return context;
            }
        }
    }

    private MorDeviceInfo Info
    {
        get
        {
            lock (_gate)
            {
                if (_info is null)
                {
                    MorDeviceInfo info;
                    NativeCall.Check(
                        NativeMethods.mor_device_info_get(Kind == DeviceKind.Cuda ? MorBackend.Cuda : MorBackend.Cpu, Index, &info),
                        nameof(NativeMethods.mor_device_info_get));
                    _info = info;
                }

                return _info.Value;
            }
        }
    }

    /// <summary>The CUDA device <paramref name="index"/>, opened now.</summary>
    /// <param name="index">The CUDA device ordinal.</param>
    /// <exception cref="DeviceUnavailableException">
    /// No CUDA support, driver or GPU, or no such device; the message has the native reason. The CPU keeps working.
    /// </exception>
    public static Device Cuda(int index = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        int count = CudaDeviceCount;
        if (count > 0 && index >= count)
        {
            throw new DeviceUnavailableException(nameof(Cuda), $"CUDA device {index} does not exist: {count} CUDA device(s) found.");
        }

        // With no device at all, opening it anyway gives the native library's reason (no driver, not built with CUDA, ...).
        Device device = s_cudaDevices.GetOrAdd(index, static i => new Device(DeviceKind.Cuda, i));
        _ = device.Context;
        return device;
    }

    /// <summary>Parses <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c> (case-insensitive) and opens that device.</summary>
    /// <param name="text">The device name, as on the command line.</param>
    /// <exception cref="FormatException">The text is not a device name.</exception>
    /// <exception cref="DeviceUnavailableException">A CUDA device was named and cannot be opened.</exception>
    public static Device Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string name = text.Trim().ToLowerInvariant();
        if (name == "cpu")
        {
            return Cpu;
        }

        if (name == "cuda")
        {
            return Cuda(0);
        }

        if (name.StartsWith("cuda:", StringComparison.Ordinal) &&
            int.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
        {
            return Cuda(index);
        }

        throw new FormatException($"'{text}' is not a device: expected cpu, cuda or cuda:N.");
    }

    /// <summary>Waits until all work queued on this device has finished.</summary>
    public void Synchronize() =>
        NativeCall.Check(NativeMethods.mor_context_synchronize(Context), nameof(NativeMethods.mor_context_synchronize));

    /// <summary>Starts a new high-water mark for <see cref="AllocatorStats.PeakBytes"/>.</summary>
    public void ResetPeakBytes() =>
        NativeCall.Check(NativeMethods.mor_allocator_reset_peak(Context), nameof(NativeMethods.mor_allocator_reset_peak));

    /// <summary>Returns the allocator's cached (freed, unused) blocks to the system.</summary>
    public void ReleaseCachedMemory()
    {
        NativeResources.DrainDeferredFrees();
        NativeCall.Check(NativeMethods.mor_allocator_trim(Context), nameof(NativeMethods.mor_allocator_trim));
    }

    /// <summary><c>cpu</c> or <c>cuda:N</c>.</summary>
    public override string ToString() => Kind == DeviceKind.Cpu ? "cpu" : $"cuda:{Index}";

    // Runs once: device discovery never aborts natively, and a library that cannot load means no CUDA either.
    private static string? ProbeCuda()
    {
        try
        {
            int count;
            NativeCall.Check(NativeMethods.mor_device_count(MorBackend.Cuda, &count), nameof(NativeMethods.mor_device_count));
            if (count > 0)
            {
                return null;
            }

            string reason = NativeCall.LastError();
            return string.IsNullOrEmpty(reason) ? "no CUDA device found" : reason;
        }
        catch (Exception e)
        {
            return e.Message;
        }
    }
}
