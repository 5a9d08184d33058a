namespace MoR.Tests.Infrastructure;

/// <summary>Paths in the source tree the tests run from.</summary>
public static class RepositoryLayout
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The folder holding MoRNative.sln, found by walking up from the test binaries.</summary>
    public static string Root => s_root.Value;

    /// <summary>The CMake build folder NativeBuild.targets uses for this host.</summary>
    public static string NativeBuildDirectory => Path.Combine(Root, "artifacts", "native");

    /// <summary>The GoogleTest executable built next to the native library.</summary>
    public static string NativeTestExecutable =>
        Path.Combine(NativeBuildDirectory, "native", "tests", OperatingSystem.IsWindows() ? "mor_native_tests.exe" : "mor_native_tests");

    /// <summary>The public C header.</summary>
    public static string NativeHeader => Path.Combine(Root, "native", "include", "mor", "mor.h");

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "MoRNative.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No MoRNative.sln above {AppContext.BaseDirectory}: the tests must run from a build inside the repository.");
    }
}
