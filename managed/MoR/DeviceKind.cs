namespace MoR;

/// <summary>The backend a <see cref="Device"/> runs on.</summary>
public enum DeviceKind
{
    /// <summary>The host CPU (BLAS and vectorised kernels).</summary>
    Cpu = 0,

    /// <summary>An NVIDIA GPU (CUDA and cuBLAS).</summary>
    Cuda = 1,
}
