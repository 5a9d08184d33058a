using MoR.Distributed;

namespace MoR.Tests.Infrastructure;

/// <summary>A fact that needs Open MPI's mpirun (the native build installs it as root: scripts/ensure-native-deps.sh); skipped with the reason where it is absent.</summary>
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
            Skip = "mpirun not found on PATH (Debian: apt-get install openmpi-bin libopenmpi-dev; the native build installs them when run as root)";
        }
    }
}
