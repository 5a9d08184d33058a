namespace MoR.Interop;

/// <summary>
/// A collective between ranks failed or timed out (<see cref="NativeStatus.Comm"/>): a peer rank died, hung
/// or called a different collective. The communicator cannot be used again; abort the job.
/// </summary>
public class CommunicationException : MoRNativeException
{
    /// <summary>Creates an exception for a failed native call.</summary>
    /// <param name="operation">The native function that failed.</param>
    /// <param name="nativeMessage">The native library's message (names the rank and the operation).</param>
    public CommunicationException(string operation, string nativeMessage)
        : base(NativeStatus.Comm, operation, nativeMessage)
    {
    }
}
