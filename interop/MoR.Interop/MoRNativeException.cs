namespace MoR.Interop;

/// <summary>
/// A native MoR call failed. Carries the status code and the library's own message
/// (<c>mor_last_error</c>, read on the failing thread right after the call).
/// </summary>
public class MoRNativeException : Exception
{
    /// <summary>Creates an exception for a failed native call.</summary>
    /// <param name="status">The status the call returned.</param>
    /// <param name="operation">The native function or managed operation that failed.</param>
    /// <param name="nativeMessage">The native library's message; may be empty.</param>
    public MoRNativeException(NativeStatus status, string operation, string nativeMessage)
        : base(FormatMessage(status, operation, nativeMessage))
    {
        Status = status;
        Operation = operation;
        NativeMessage = nativeMessage;
    }

    /// <summary>The status code the native call returned.</summary>
    public NativeStatus Status { get; }

    /// <summary>The native function or managed operation that failed.</summary>
    public string Operation { get; }

    /// <summary>The native library's message for the failure, exactly as it reported it.</summary>
    public string NativeMessage { get; }

    private static string FormatMessage(NativeStatus status, string operation, string nativeMessage) =>
        string.IsNullOrEmpty(nativeMessage)
            ? $"{operation} failed: {status}."
            : $"{operation} failed: {status}: {nativeMessage}";
}
