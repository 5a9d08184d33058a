using System.Runtime.InteropServices;

namespace MoR.Interop;

/// <summary>
/// Source-generated imports of every function in <c>native/include/mor/mor.h</c>, one partial file per
/// section of the header. Names are the C names so the header and this class can be read side by side.
/// </summary>
/// <remarks>
/// Signatures are blittable (integers, enums, pointers, blittable structs). Handle parameters are typed
/// SafeHandles: the LibraryImport generator AddRefs each one for the duration of the call, so a handle
/// disposed or finalized on another thread cannot be freed while native code uses it. A NULL handle
/// argument is passed as <see cref="StreamHandle.Default"/> or <see cref="BufferHandle.Null"/>.
/// Every function that returns a status is checked with <see cref="NativeCall.Check(int, string)"/>.
/// </remarks>
internal static unsafe partial class NativeMethods
{
    /// <summary>The name every import binds to; <see cref="NativeLibraryResolver"/> maps it to a file.</summary>
    public const string LibraryName = "mornative";

    /// <summary>The <c>MOR_ABI_VERSION</c> these declarations were written against.</summary>
    public const int AbiVersion = 3;

    // ---- library ----

    [LibraryImport(LibraryName)]
    public static partial int mor_abi_version();

    /// <summary>Thread-local NUL-terminated UTF-8 message, owned by the library; never null.</summary>
    [LibraryImport(LibraryName)]
    public static partial byte* mor_last_error();

    [LibraryImport(LibraryName)]
    public static partial int mor_build_info(byte** info);

    [LibraryImport(LibraryName)]
    public static partial int mor_handle_stats_get(MorHandleStats* stats);

    // ---- devices ----

    [LibraryImport(LibraryName)]
    public static partial int mor_device_count(MorBackend backend, int* count);

    [LibraryImport(LibraryName)]
    public static partial int mor_device_info_get(MorBackend backend, int device, MorDeviceInfo* info);

    [LibraryImport(LibraryName)]
    public static partial int mor_device_memory_get(MorBackend backend, int device, long* freeBytes, long* totalBytes);

    // ---- contexts and streams ----

    [LibraryImport(LibraryName)]
    public static partial int mor_context_create(MorBackend backend, int device, nint* context);

    /// <summary>Takes the raw pointer: called only from <see cref="ContextHandle"/>'s release.</summary>
    [LibraryImport(LibraryName)]
    public static partial int mor_context_destroy(nint context);

    [LibraryImport(LibraryName)]
    public static partial int mor_context_backend(ContextHandle context, MorBackend* backend);

    [LibraryImport(LibraryName)]
    public static partial int mor_context_synchronize(ContextHandle context);

    [LibraryImport(LibraryName)]
    public static partial int mor_context_set_allow_tf32(ContextHandle context, int allow);

    [LibraryImport(LibraryName)]
    public static partial int mor_stream_create(ContextHandle context, nint* stream);

    /// <summary>Takes the raw pointer: called only from <see cref="StreamHandle"/>'s release.</summary>
    [LibraryImport(LibraryName)]
    public static partial int mor_stream_destroy(nint stream);

    [LibraryImport(LibraryName)]
    public static partial int mor_stream_synchronize(StreamHandle stream);

    // ---- allocator ----

    [LibraryImport(LibraryName)]
    public static partial int mor_allocator_stats_get(ContextHandle context, MorAllocatorStats* stats);

    [LibraryImport(LibraryName)]
    public static partial int mor_allocator_reset_peak(ContextHandle context);

    [LibraryImport(LibraryName)]
    public static partial int mor_allocator_trim(ContextHandle context);
}
