using System.Runtime.InteropServices;

namespace MoR.Interop;

internal static unsafe partial class NativeMethods
{
    // ---- communication: offsets and counts are in elements of the buffer's dtype ----

    /// <summary><paramref name="argcUnused"/> is reserved: pass null.</summary>
    [LibraryImport(LibraryName)]
    public static partial int mor_comm_create_mpi(int* argcUnused, nint* communicator);

    [LibraryImport(LibraryName)]
    public static partial int mor_comm_create_nccl(CommHandle bootstrap, ContextHandle context, nint* communicator);

    [LibraryImport(LibraryName)]
    public static partial int mor_comm_rank(CommHandle communicator, int* rank);

    [LibraryImport(LibraryName)]
    public static partial int mor_comm_size(CommHandle communicator, int* size);

    [LibraryImport(LibraryName)]
    public static partial int mor_comm_allreduce_sum_f32(
        CommHandle communicator, ContextHandle context, StreamHandle stream, BufferHandle buffer, long offset, long count);

    [LibraryImport(LibraryName)]
    public static partial int mor_comm_broadcast(
        CommHandle communicator, ContextHandle context, StreamHandle stream, BufferHandle buffer, long offset, long count, int root);

    [LibraryImport(LibraryName)]
    public static partial int mor_comm_barrier(CommHandle communicator);

    /// <summary>Ends every rank (MPI_Abort); returns only when that fails.</summary>
    [LibraryImport(LibraryName)]
    public static partial int mor_comm_abort(CommHandle communicator, int code);

    /// <summary>Takes the raw pointer: called only from <see cref="CommHandle"/>'s release.</summary>
    [LibraryImport(LibraryName)]
    public static partial int mor_comm_destroy(nint communicator);
}
