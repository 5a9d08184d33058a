namespace MoR.Interop;

/// <summary>Owns a <c>mor_comm</c>: an MPI (or NCCL) communicator over the ranks of a job.</summary>
internal sealed unsafe class CommHandle : MorSafeHandle
{
    private CommHandle(nint handle)
        : base(handle, ownsHandle: true)
    {
    }

    /// <summary>Wraps MPI_COMM_WORLD, initialising MPI if needed. Collective: every rank must call it.</summary>
    /// <exception cref="MoRNativeException">Not built with MPI (<see cref="NativeStatus.NotSupported"/>) or MPI failed.</exception>
    public static CommHandle CreateMpi()
    {
        NativeResources.DrainDeferredFrees();
        nint raw;
        NativeCall.Check(NativeMethods.mor_comm_create_mpi(null, &raw), nameof(NativeMethods.mor_comm_create_mpi));
        return new CommHandle(raw);
    }

    /// <summary>A NCCL communicator over the ranks of <paramref name="bootstrap"/>, on <paramref name="context"/>'s GPU.</summary>
    public static CommHandle CreateNccl(CommHandle bootstrap, ContextHandle context)
    {
        ArgumentNullException.ThrowIfNull(bootstrap);
        ArgumentNullException.ThrowIfNull(context);
        NativeResources.DrainDeferredFrees();
        nint raw;
        NativeCall.Check(NativeMethods.mor_comm_create_nccl(bootstrap, context, &raw), nameof(NativeMethods.mor_comm_create_nccl));
        return new CommHandle(raw);
    }

    /// <inheritdoc/>
    internal override bool FreeNative() => NativeMethods.mor_comm_destroy(handle) == 0;
}
