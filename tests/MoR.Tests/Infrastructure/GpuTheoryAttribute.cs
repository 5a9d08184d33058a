namespace MoR.Tests.Infrastructure;

/// <summary>A theory that runs only where a CUDA device is usable; elsewhere it is skipped with the native reason.</summary>
public sealed class GpuTheoryAttribute : TheoryAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when <see cref="Device.IsCudaAvailable"/> is false.</summary>
    public GpuTheoryAttribute()
    {
        if (!Device.IsCudaAvailable)
        {
            Skip = $"no CUDA device: {Device.CudaUnavailableReason}";
        }
    }
}
