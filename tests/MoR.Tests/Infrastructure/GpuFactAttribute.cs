namespace MoR.Tests.Infrastructure;

/// <summary>A fact that runs only where a CUDA device is usable; elsewhere it is skipped with the native reason.</summary>
public sealed class GpuFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when <see cref="Device.IsCudaAvailable"/> is false.</summary>
    public GpuFactAttribute()
    {
        if (!Device.IsCudaAvailable)
        {
            Skip = $"no CUDA device: {Device.CudaUnavailableReason}";
        }
    }
}
