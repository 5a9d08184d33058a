using System.Runtime.InteropServices;
using MoR.Interop;

namespace MoR.Tests;

/// <summary>
/// The library resolver. The process-wide load already happened (it must, for anything else to run),
/// so failure paths are exercised through the resolver's probe functions with chosen candidates.
/// </summary>
public sealed class InteropResolverTests
{
    private static readonly string[] Rids = [NativeLibraryResolver.PortableRid];

    [Fact]
    public void TheProcessWideLoadIsTracedAndEndsWithTheLoadedFile()
    {
        NativeDiagnostics.EnsureLoaded();

        IReadOnlyList<NativeLibraryProbe> trace = NativeDiagnostics.ProbeTrace;
        Assert.NotEmpty(trace);
        NativeLibraryProbe last = trace[^1];
        Assert.True(last.Succeeded, string.Join(Environment.NewLine, trace));
        Assert.Single(trace, probe => probe.Succeeded);
        Assert.StartsWith(last.Path, NativeDiagnostics.LibraryPath);
    }

    [Fact]
    public void CandidatesFollowTheDocumentedOrder()
    {
        string missing = Path.Combine(Path.GetTempPath(), "mor-missing", NativeLibraryResolver.PlatformFileName);

        IReadOnlyList<NativeLibraryCandidate> candidates = NativeLibraryResolver.EnumerateCandidates(
            missing, "/opt/app/lib", "/opt/app", Rids, NativeLibraryResolver.PlatformFileName);

        Assert.Collection(
            candidates,
            c => Assert.Equal((NativeLibraryResolver.PathVariable, Path.GetFullPath(missing)), (c.Source, c.Path)),
            c => Assert.Equal(Path.GetFullPath(Path.Combine("/opt/app/lib", NativeLibraryResolver.PlatformFileName)), c.Path),
            c => Assert.Equal(
                Path.GetFullPath(Path.Combine("/opt/app", "runtimes", Rids[0], "native", NativeLibraryResolver.PlatformFileName)), c.Path),
            c => Assert.True(c.IsBareName && c.Path == "mornative"));
    }

    [Fact]
    public void ANuGetPackageLibFolderIsFollowedByThePackagesRuntimesFolders()
    {
        string lib = Path.Combine("/home/u/.nuget/packages/mornative/0.1.0", "lib", "net10.0");
        string[] rids = ["linux-x64", "linux-x64"];  // duplicates (portable RID = runtime RID) are tried once

        IReadOnlyList<NativeLibraryCandidate> candidates = NativeLibraryResolver.EnumerateCandidates(
            null, lib, "/opt/app", rids, "libmornative.so");

        Assert.Equal(Path.GetFullPath(Path.Combine(lib, "libmornative.so")), candidates[0].Path);
        Assert.Equal("NuGet package runtimes/linux-x64/native", candidates[1].Source);
        Assert.Equal(Path.GetFullPath("/home/u/.nuget/packages/mornative/0.1.0/runtimes/linux-x64/native/libmornative.so"), candidates[1].Path);
        Assert.Equal(Path.GetFullPath("/opt/app/runtimes/linux-x64/native/libmornative.so"), candidates[2].Path);
        Assert.Equal(4, candidates.Count);
    }

    [Theory]
    [InlineData("/opt/app")]           // an application folder
    [InlineData("/opt/app/bin/lib")]   // a folder named lib is not a package's lib/<tfm>
    public void OtherAssemblyFoldersAddNoPackageCandidates(string assemblyDirectory)
    {
        Assert.Null(NativeLibraryResolver.NuGetPackageRoot(assemblyDirectory));
        IReadOnlyList<NativeLibraryCandidate> candidates = NativeLibraryResolver.EnumerateCandidates(
            null, assemblyDirectory, "/srv/base", Rids, NativeLibraryResolver.PlatformFileName);
        Assert.DoesNotContain(candidates, c => c.Source.StartsWith("NuGet package", StringComparison.Ordinal));
    }

    [Fact]
    public void TheLibraryIsLoadedFromAnExtractedPackageLayout()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // a symbolic link keeps one library instance in the process (dlopen matches the file); Linux only here
        }

        string package = Directory.CreateTempSubdirectory("mor-package-").FullName;
        try
        {
            string lib = Directory.CreateDirectory(Path.Combine(package, "lib", "net10.0")).FullName;
            string native = Directory.CreateDirectory(Path.Combine(package, "runtimes", Rids[0], "native")).FullName;
            string placed = Path.Combine(native, NativeLibraryResolver.PlatformFileName);
            File.CreateSymbolicLink(placed, NativeDiagnostics.EnsureLoaded());
            var trace = new List<NativeLibraryProbe>();

            (nint handle, string path) = NativeLibraryResolver.LoadFirst(
                NativeLibraryResolver.EnumerateCandidates(null, lib, Path.Combine(package, "app"), Rids, NativeLibraryResolver.PlatformFileName), trace);
            try
            {
                Assert.Equal(placed, path);
                Assert.Equal([false, true], trace.Select(p => p.Succeeded));
                Assert.Equal($"NuGet package runtimes/{Rids[0]}/native", trace[1].Source);
                NativeLibraryResolver.VerifyAbiVersion(handle, path, NativeMethods.AbiVersion, trace);
            }
            finally
            {
                NativeLibrary.Free(handle); // drops only the reference this test took
            }
        }
        finally
        {
            Directory.Delete(package, recursive: true);
        }
    }

    [Fact]
    public void AFolderInTheVariableIsSearchedForThePlatformFileName()
    {
        string folder = Path.GetTempPath();

        NativeLibraryCandidate first = NativeLibraryResolver.EnumerateCandidates(
            folder, null, AppContext.BaseDirectory, Rids, NativeLibraryResolver.PlatformFileName)[0];

        Assert.Equal($"{NativeLibraryResolver.PathVariable} (folder)", first.Source);
        Assert.Equal(Path.GetFullPath(Path.Combine(folder, NativeLibraryResolver.PlatformFileName)), first.Path);
    }

    [Fact]
    public void AMissingFileInTheVariableIsTracedAndTheSearchGoesOn()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"mor-missing-{Guid.NewGuid():N}", NativeLibraryResolver.PlatformFileName);
        string libraryDirectory = Path.GetDirectoryName(NativeDiagnostics.EnsureLoaded())!;
        IReadOnlyList<NativeLibraryCandidate> candidates = NativeLibraryResolver.EnumerateCandidates(
            missing, libraryDirectory, AppContext.BaseDirectory, Rids, NativeLibraryResolver.PlatformFileName);
        var trace = new List<NativeLibraryProbe>();

        (nint handle, string path) = NativeLibraryResolver.LoadFirst(candidates, trace);
        try
        {
            Assert.Equal(NativeLibraryResolver.PathVariable, trace[0].Source);
            Assert.Equal(Path.GetFullPath(missing), trace[0].Path);
            Assert.False(trace[0].Succeeded);
            Assert.Equal("file does not exist", trace[0].Detail);
            Assert.True(trace[^1].Succeeded);
            Assert.Equal(Path.Combine(libraryDirectory, NativeLibraryResolver.PlatformFileName), path);
        }
        finally
        {
            NativeLibrary.Free(handle); // drops only the reference this test took
        }
    }

    [Fact]
    public void WhenNothingLoadsTheExceptionListsEveryPathAndWhy()
    {
        string folder = Directory.CreateTempSubdirectory("mor-resolver-").FullName;
        try
        {
            string notALibrary = Path.Combine(folder, NativeLibraryResolver.PlatformFileName);
            File.WriteAllText(notALibrary, "this is not a shared library");
            string missing = Path.Combine(folder, "missing", NativeLibraryResolver.PlatformFileName);
            NativeLibraryCandidate[] candidates =
            [
                new(NativeLibraryResolver.PathVariable, missing),
                new("assembly directory", notALibrary),
                new("operating system search", "mor_no_such_library_" + Guid.NewGuid().ToString("N"), IsBareName: true),
            ];

            var error = Assert.Throws<NativeLibraryLoadException>(
                () => NativeLibraryResolver.LoadFirst(candidates, new List<NativeLibraryProbe>()));

            Assert.Equal(3, error.Probes.Count);
            Assert.All(error.Probes, probe => Assert.False(probe.Succeeded));
            Assert.All(candidates, candidate => Assert.Contains(candidate.Path, error.Message));
            Assert.Contains("file does not exist", error.Message);
            Assert.False(string.IsNullOrWhiteSpace(error.Probes[1].Detail));
            Assert.NotEqual("file does not exist", error.Probes[1].Detail);
            Assert.Contains(NativeLibraryResolver.PathVariable, error.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void AnAbiVersionMismatchIsRefusedWithBothVersions()
    {
        string path = NativeDiagnostics.EnsureLoaded();
        nint handle = NativeLibrary.Load(path); // an extra reference, which the failed check frees
        var trace = new List<NativeLibraryProbe> { new("assembly directory", path, true, "loaded") };

        var error = Assert.Throws<NativeLibraryLoadException>(
            () => NativeLibraryResolver.VerifyAbiVersion(handle, path, NativeMethods.AbiVersion + 1, trace));

        Assert.Contains($"ABI version {NativeMethods.AbiVersion}", error.Message);
        Assert.Contains($"expects ABI version {NativeMethods.AbiVersion + 1}", error.Message);
        Assert.False(error.Probes[^1].Succeeded);
        Assert.Equal(NativeMethods.AbiVersion, NativeMethods.mor_abi_version()); // the process-wide load is untouched
    }

    [Fact]
    public void ALibraryWithoutTheVersionExportIsRefused()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // needs a well-known non-MoR library; libc is the one every Linux has
        }

        nint handle = NativeLibrary.Load("libc.so.6");
        var trace = new List<NativeLibraryProbe> { new("test", "libc.so.6", true, "loaded") };

        var error = Assert.Throws<NativeLibraryLoadException>(
            () => NativeLibraryResolver.VerifyAbiVersion(handle, "libc.so.6", NativeMethods.AbiVersion, trace));

        Assert.Contains("does not export mor_abi_version", error.Message);
    }
}
