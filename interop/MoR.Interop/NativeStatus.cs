namespace MoR.Interop;

/// <summary>Status codes returned by every native entry point (<c>mor_status</c> in mor.h).</summary>
public enum NativeStatus
{
    /// <summary>The call succeeded.</summary>
    Ok = 0,

    /// <summary>A null handle, negative size, unknown enum value or similar.</summary>
    InvalidArgument = 1,

    /// <summary>A buffer is too small for the dimensions given.</summary>
    Shape = 2,

    /// <summary>The operation does not accept a buffer's element type.</summary>
    DType = 3,

    /// <summary>A host or device allocation failed.</summary>
    OutOfMemory = 4,

    /// <summary>No driver, no GPU, or the backend was not compiled into the native library.</summary>
    NoDevice = 5,

    /// <summary>A CUDA runtime error.</summary>
    Cuda = 6,

    /// <summary>A cuBLAS error.</summary>
    Cublas = 7,

    /// <summary>A valid request that this backend and element type combination cannot perform.</summary>
    NotSupported = 8,

    /// <summary>A bug in the native library.</summary>
    Internal = 9,

    /// <summary>A collective failed or timed out: a peer rank died or hung.</summary>
    Comm = 10,
}
