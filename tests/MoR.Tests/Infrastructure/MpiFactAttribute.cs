using MoR.Distributed;

namespace MoR.Tests.Infrastructure;

/// <summary>A fact that needs Open MPI's mpirun (CI installs openmpi-bin); skipped with the reason where it is absent.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when mpirun cannot be found.</summary>
    public MpiFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "the multi-rank tests run on Linux with Open MPI";
        }
        else if (Environment.GetEnvironmentVariable("MOR_MPIRUN") is not { Length: > 0 } && MpiLauncher.TryFindOnPath("mpirun") is null)
        {
            Skip = "mpirun not found on PATH (Debian: apt-get install openmpi-bin libopenmpi-dev; .ci/run installs it)";
        }
    }
}
