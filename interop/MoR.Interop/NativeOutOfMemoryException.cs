namespace MoR.Interop;

/// <summary>
/// A host or device allocation inside the native library failed (<see cref="NativeStatus.OutOfMemory"/>);
/// the message has the sizes. Distinct from <see cref="OutOfMemoryException"/>, which is about the managed heap.
/// </summary>
public class NativeOutOfMemoryException : MoRNativeException
{
    /// <summary>Creates an exception for a failed native allocation.</summary>
    /// <param name="operation">The native function that failed.</param>
    /// <param name="nativeMessage">The native library's message.</param>
    public NativeOutOfMemoryException(string operation, string nativeMessage)
        : base(NativeStatus.OutOfMemory, operation, nativeMessage)
    {
    }
}
