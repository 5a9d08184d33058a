using System.Runtime.InteropServices;

namespace MoR.Interop;

internal static unsafe partial class NativeMethods
{
    // ---- buffers: offsets and counts are in elements of the buffer's dtype ----

    [LibraryImport(LibraryName)]
    public static partial int mor_buffer_create(ContextHandle context, MorDType dtype, long numel, StreamHandle stream, nint* buffer);

    /// <summary>Takes the raw pointer: called only from <see cref="BufferHandle"/>'s release.</summary>
    [LibraryImport(LibraryName)]
    public static partial int mor_buffer_destroy(nint buffer);

    [LibraryImport(LibraryName)]
    public static partial int mor_buffer_numel(BufferHandle buffer, long* numel);

    [LibraryImport(LibraryName)]
    public static partial int mor_buffer_dtype(BufferHandle buffer, MorDType* dtype);

    [LibraryImport(LibraryName)]
    public static partial int mor_buffer_data(BufferHandle buffer, void** data);

    [LibraryImport(LibraryName)]
    public static partial int mor_buffer_upload(BufferHandle destination, long destinationOffset, void* host, long count, StreamHandle stream);

    [LibraryImport(LibraryName)]
    public static partial int mor_buffer_download(BufferHandle source, long sourceOffset, void* host, long count, StreamHandle stream);

    [LibraryImport(LibraryName)]
    public static partial int mor_buffer_copy(
        BufferHandle destination, long destinationOffset, BufferHandle source, long sourceOffset, long count, StreamHandle stream);

    [LibraryImport(LibraryName)]
    public static partial int mor_buffer_fill(BufferHandle buffer, long offset, long count, double value, StreamHandle stream);

    [LibraryImport(LibraryName)]
    public static partial int mor_cast(BufferHandle destination, BufferHandle source, StreamHandle stream);
}
