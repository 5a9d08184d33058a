using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace MoR.Interop;

/// <summary>Turns native status codes into typed exceptions.</summary>
internal static unsafe class NativeCall
{
    /// <summary>
    /// Throws the exception for <paramref name="status"/> unless it is <see cref="NativeStatus.Ok"/>.
    /// Call it directly on the native call's result: the message is thread-local and is overwritten by
    /// the next native call on this thread.
    /// </summary>
    /// <param name="status">The value the native function returned.</param>
    /// <param name="operation">The native function's name, for the message.</param>
    [StackTraceHidden]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Check(int status, string operation)
    {
        // A static readonly switch: when timing is off (the default) the JIT drops this line entirely.
        if (NativeCallTimer.IsEnabled)
        {
            NativeCallTimer.Record(operation);
        }

        if (status != (int)NativeStatus.Ok)
        {
            ThrowForStatus(status, operation);
        }
    }

    /// <summary>The calling thread's last native error message; empty if none.</summary>
    public static string LastError() => ReadUtf8(NativeMethods.mor_last_error());

    /// <summary>Decodes a NUL-terminated UTF-8 string owned by the native library; null reads as empty.</summary>
    public static string ReadUtf8(byte* text) =>
        text is null ? string.Empty : Encoding.UTF8.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(text));

    /// <summary>The exception type each status maps to.</summary>
    public static MoRNativeException CreateException(NativeStatus status, string operation, string nativeMessage) =>
        status switch
        {
            NativeStatus.OutOfMemory => new NativeOutOfMemoryException(operation, nativeMessage),
            NativeStatus.NoDevice => new DeviceUnavailableException(operation, nativeMessage),
            NativeStatus.Cuda => new CudaException(operation, nativeMessage),
            NativeStatus.Cublas => new CublasException(operation, nativeMessage),
            NativeStatus.Comm => new CommunicationException(operation, nativeMessage),
            _ => new MoRNativeException(status, operation, nativeMessage),
        };

    [DoesNotReturn]
    [StackTraceHidden]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowForStatus(int status, string operation) =>
        throw CreateException((NativeStatus)status, operation, LastError());
}
