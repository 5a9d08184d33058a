using MoR.Tests.Infrastructure;

namespace MoR.Tests;

/// <summary>The repository has one version (the VERSION file): CMake, the assemblies and the NuGet packages read it.</summary>
public sealed class VersionTests
{
    [Fact]
    public void TheNativeLibraryAndTheAssembliesCarryTheVersionFile()
    {
        string version = File.ReadAllText(Path.Combine(RepositoryLayout.Root, "VERSION")).Trim();
        Assert.Matches(@"^\d+\.\d+\.\d+$", version);

        Assert.Equal(version, typeof(Device).Assembly.GetName().Version!.ToString(3));
        Assert.Equal(version, typeof(MoR.Interop.NativeStatus).Assembly.GetName().Version!.ToString(3));
        Assert.Equal(version, typeof(MoR.Cli.MorApp).Assembly.GetName().Version!.ToString(3));
        Assert.StartsWith($"mor {version};", NativeDiagnostics.BuildInfo, StringComparison.Ordinal);
    }
}
