namespace MoR.Interop;

/// <summary>A cuBLAS error (<see cref="NativeStatus.Cublas"/>).</summary>
public class CublasException : MoRNativeException
{
    /// <summary>Creates an exception for a failed native call.</summary>
    /// <param name="operation">The native function that failed.</param>
    /// <param name="nativeMessage">The native library's message.</param>
    public CublasException(string operation, string nativeMessage)
        : base(NativeStatus.Cublas, operation, nativeMessage)
    {
    }
}
