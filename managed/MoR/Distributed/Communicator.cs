using MoR.Interop;
using MoR.Modules;

namespace MoR.Distributed;

/// <summary>
/// The ranks of a data-parallel job: each rank trains on its <see cref="DataShard"/> and, after every
/// backward pass, <see cref="AllReduceGradients"/> replaces each gradient with its mean over the ranks, so
/// every rank takes the same optimizer step. A single-rank communicator (no MPI) makes every call a no-op,
/// so training code is written once.
/// </summary>
/// <remarks>
/// Collectives must be called by every rank in the same order with parameters of the same shapes. Each is
/// bounded in time (<c>MOR_COMM_TIMEOUT_S</c>, default 300 s): a dead or hung peer surfaces as a
/// <see cref="CommunicationException"/> naming the rank, after which the communicator is unusable and the job
/// should end with <see cref="Abort"/>. Not thread-safe: call from one training thread.
/// </remarks>
public sealed class Communicator : IDisposable
{
    /// <summary>The default gradient bucket: 4 MiB (1 Mi floats), large enough to amortise per-collective latency.</summary>
    public const long DefaultBucketBytes = 4L << 20;

    private readonly CommHandle? _handle;
    private readonly Dictionary<Device, Tensor> _buckets = [];
    private readonly List<BucketPiece> _pieces = [];
    private bool _disposed;

    private Communicator(CommHandle? handle, int rank, int size, long bucketBytes)
    {
        if (bucketBytes < sizeof(float))
        {
            throw new ArgumentOutOfRangeException(nameof(bucketBytes), bucketBytes, "A gradient bucket holds at least one float.");
        }

        _handle = handle;
        Rank = rank;
        Size = size;
        BucketElements = bucketBytes / sizeof(float);
    }

    /// <summary>This process's rank, 0 ≤ Rank &lt; <see cref="Size"/>. Rank 0 writes checkpoints and metrics.</summary>
    public int Rank { get; }

    /// <summary>The number of ranks.</summary>
    public int Size { get; }

    /// <summary>Whether there is more than one rank (otherwise every collective is a no-op).</summary>
    public bool IsDistributed => Size > 1;

    /// <summary>Whether this is rank 0, the one that writes checkpoints, logs and metrics.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>Floats per gradient bucket.</summary>
    public long BucketElements { get; }

    /// <summary>
    /// Whether the process was started by an MPI launcher: <c>OMPI_COMM_WORLD_SIZE</c> (Open MPI) or
    /// <c>PMI_SIZE</c> (MPICH, Intel MPI) is set.
    /// </summary>
    public static bool LaunchedByMpi =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE")) ||
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("PMI_SIZE"));

    /// <summary>MPI when <see cref="LaunchedByMpi"/>, otherwise a single-rank communicator.</summary>
    /// <param name="bucketBytes">Gradient bucket size in bytes.</param>
    /// <exception cref="MoRNativeException">Launched by MPI but the native library was built without it, or MPI failed.</exception>
    public static Communicator FromEnvironment(long bucketBytes = DefaultBucketBytes) =>
        LaunchedByMpi ? CreateMpi(bucketBytes) : CreateSingle(bucketBytes);

    /// <summary>One rank, no MPI: collectives do nothing.</summary>
    /// <param name="bucketBytes">Gradient bucket size in bytes (unused by a single rank, kept for symmetry).</param>
    public static Communicator CreateSingle(long bucketBytes = DefaultBucketBytes) => new(null, 0, 1, bucketBytes);

    /// <summary>All ranks of MPI_COMM_WORLD, initialising MPI. Collective: every rank must call it.</summary>
    /// <param name="bucketBytes">Gradient bucket size in bytes.</param>
    public static unsafe Communicator CreateMpi(long bucketBytes = DefaultBucketBytes)
    {
        CommHandle handle = CommHandle.CreateMpi();
        try
        {
            int rank, size;
            NativeCall.Check(NativeMethods.mor_comm_rank(handle, &rank), nameof(NativeMethods.mor_comm_rank));
            NativeCall.Check(NativeMethods.mor_comm_size(handle, &size), nameof(NativeMethods.mor_comm_size));
            return new Communicator(handle, rank, size, bucketBytes);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Replaces every parameter's gradient with its mean over all ranks. Gradients are copied (on the device)
    /// into fixed-size buckets in list order, each bucket is summed across ranks, scaled by 1/<see cref="Size"/>
    /// and copied back; a parameter larger than the space left spans buckets. Call it after the backward
    /// passes of a step and before gradient clipping and the optimizer step.
    /// </summary>
    /// <param name="parameters">The trainable parameters, in the same order on every rank.</param>
    /// <exception cref="CommunicationException">A peer rank died or hung.</exception>
    public void AllReduceGradients(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!IsDistributed)
        {
            return;
        }

        float scale = 1f / Size;
        RunBucketed(parameters, p => p.Grad, copyBack: true, (bucket, count) =>
        {
            AllReduceSum(bucket, 0, count);
            Ops.Scale(scale, bucket, 0, count);
        });
    }

    /// <summary>
    /// Copies the values of <paramref name="parameters"/> from rank <paramref name="root"/> to every rank (the
    /// initial sync). Adapters that cache derived tensors need <c>OnParametersChanged()</c> afterwards.
    /// </summary>
    /// <param name="parameters">The parameters, in the same order on every rank.</param>
    /// <param name="root">The rank whose values win.</param>
    public void Broadcast(IReadOnlyList<Parameter> parameters, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, Size);
        if (!IsDistributed)
        {
            return;
        }

        RunBucketed(parameters, p => p.Value, copyBack: Rank != root, (bucket, count) => Broadcast(bucket, 0, count, root));
    }

    /// <summary>In place: <paramref name="tensor"/> becomes the elementwise sum over all ranks (for example the step's loss).</summary>
    /// <param name="tensor">An F32 tensor of the same shape on every rank.</param>
    public void AllReduceSum(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        AllReduceSum(tensor, 0, tensor.Numel);
    }

    /// <summary>In place: <paramref name="tensor"/>'s elements become rank <paramref name="root"/>'s (any dtype).</summary>
    /// <param name="tensor">A tensor of the same shape and dtype on every rank.</param>
    /// <param name="root">The rank whose values win.</param>
    public void Broadcast(Tensor tensor, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        Broadcast(tensor, 0, tensor.Numel, root);
    }

    /// <summary>Returns when every rank has called it (for example after rank 0 wrote a checkpoint).</summary>
    public void Barrier()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_handle is not null)
        {
            NativeCall.Check(NativeMethods.mor_comm_barrier(_handle), nameof(NativeMethods.mor_comm_barrier));
        }
    }

    /// <summary>
    /// Ends every rank of the job with <paramref name="exitCode"/> (MPI_Abort; a single rank just exits). The way
    /// out after a <see cref="CommunicationException"/>: a normal shutdown would wait for the dead peer.
    /// </summary>
    /// <param name="exitCode">The job's exit code.</param>
    public void Abort(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        if (_handle is not null && !_handle.IsClosed)
        {
            _ = NativeMethods.mor_comm_abort(_handle, exitCode); // returns only when MPI_Abort failed
        }

        Environment.Exit(exitCode);
    }

    /// <summary>Frees the buckets and the communicator; the last MPI communicator finalises MPI.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (Tensor bucket in _buckets.Values)
        {
            bucket.Dispose();
        }

        _buckets.Clear();
        _handle?.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => IsDistributed ? $"rank {Rank} of {Size} (MPI)" : "single rank";

    private void AllReduceSum(Tensor tensor, long offset, long count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        RequireF32(tensor);
        if (_handle is not null)
        {
            NativeCall.Check(
                NativeMethods.mor_comm_allreduce_sum_f32(_handle, tensor.Device.Context, StreamHandle.Default, tensor.Handle, offset, count),
                nameof(NativeMethods.mor_comm_allreduce_sum_f32));
        }
    }

    private void Broadcast(Tensor tensor, long offset, long count, int root)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_handle is not null)
        {
            NativeCall.Check(
                NativeMethods.mor_comm_broadcast(_handle, tensor.Device.Context, StreamHandle.Default, tensor.Handle, offset, count, root),
                nameof(NativeMethods.mor_comm_broadcast));
        }
    }

    // Packs the selected tensors into the bucket in list order (splitting a tensor across buckets when it does
    // not fit), runs `collective` on each filled prefix and, when asked, unpacks it. The layout depends only
    // on the shapes and the bucket size, so every rank builds the same buckets.
    private void RunBucketed(IReadOnlyList<Parameter> parameters, Func<Parameter, Tensor> select, bool copyBack, Action<Tensor, long> collective)
    {
        if (parameters.Count == 0)
        {
            return;
        }

        Device device = parameters[0].Value.Device;
        foreach (Parameter p in parameters)
        {
            if (p.Value.Device != device)
            {
                throw new ArgumentException($"Parameter '{p.Name}' is on {p.Value.Device}, the others on {device}: one device per rank.", nameof(parameters));
            }
        }

        Tensor bucket = BucketFor(device);
        long filled = 0;
        _pieces.Clear();
        foreach (Parameter p in parameters)
        {
            Tensor source = select(p);
            for (long done = 0; done < source.Numel;)
            {
                long n = Math.Min(source.Numel - done, BucketElements - filled);
                Copy(bucket, filled, source, done, n);
                _pieces.Add(new BucketPiece(source, done, filled, n));
                filled += n;
                done += n;
                if (filled == BucketElements)
                {
                    Flush(bucket, filled, copyBack, collective);
                    filled = 0;
                }
            }
        }

        Flush(bucket, filled, copyBack, collective);
    }

    private void Flush(Tensor bucket, long filled, bool copyBack, Action<Tensor, long> collective)
    {
        if (filled == 0)
        {
            return;
        }

        collective(bucket, filled);
        if (copyBack)
        {
            foreach (BucketPiece piece in _pieces)
            {
                Copy(piece.Tensor, piece.TensorOffset, bucket, piece.BucketOffset, piece.Count);
            }
        }

        _pieces.Clear();
    }

    private Tensor BucketFor(Device device)
    {
        if (!_buckets.TryGetValue(device, out Tensor? bucket))
        {
            bucket = Tensor.Empty(device, DType.F32, BucketElements);
            _buckets.Add(device, bucket);
        }

        return bucket;
    }

    private static void Copy(Tensor destination, long destinationOffset, Tensor source, long sourceOffset, long count) =>
        Ops.Copy(source, sourceOffset, destination, destinationOffset, count);

    private static void RequireF32(Tensor tensor)
    {
        if (tensor.DType != DType.F32)
        {
            throw new ArgumentException($"All-reduce sums F32 tensors; this one is {tensor.DType}.", nameof(tensor));
        }
    }

    private readonly record struct BucketPiece(Tensor Tensor, long TensorOffset, long BucketOffset, long Count);
}
