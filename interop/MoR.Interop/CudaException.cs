namespace MoR.Interop;

/// <summary>A CUDA runtime error (<see cref="NativeStatus.Cuda"/>); the message has cudaGetErrorString.</summary>
public class CudaException : MoRNativeException
{
    /// <summary>Creates an exception for a failed native call.</summary>
    /// <param name="operation">The native function that failed.</param>
    /// <param name="nativeMessage">The native library's message.</param>
    public CudaException(string operation, string nativeMessage)
        : base(NativeStatus.Cuda, operation, nativeMessage)
    {
    }
}
