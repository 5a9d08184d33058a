using System.Reflection;
using System.Runtime.InteropServices;

namespace MoR.Interop;

/// <summary>
/// Finds and loads the native library for every <see cref="NativeMethods"/> import, in this order:
/// <c>MOR_NATIVE_PATH</c> (a file or a folder), the folder of MoR.Interop.dll, the NuGet package layout
/// around it (MoR.Interop.dll in <c>lib/&lt;tfm&gt;</c>, the library in <c>runtimes/&lt;rid&gt;/native</c>: an
/// assembly loaded from the package folder itself, as notebooks and scripts do),
/// <c>runtimes/&lt;rid&gt;/native</c> under the application base (where a build or publish for no particular
/// runtime puts the package's native assets), then the operating system's search.
/// Every attempt is recorded (<see cref="ProbeTrace"/>) and listed in the exception when all fail.
/// The library loaded must report <see cref="NativeMethods.AbiVersion"/> from <c>mor_abi_version</c>.
/// </summary>
internal static unsafe class NativeLibraryResolver
{
    /// <summary>Environment variable naming the library file, or a folder that holds it.</summary>
    public const string PathVariable = "MOR_NATIVE_PATH";

    private static readonly object s_gate = new();
    private static nint s_handle;
    private static string? s_loadedPath;
    private static NativeLibraryProbe[] s_trace = [];

    /// <summary>The attempts of the latest load, in order (empty before the first native call).</summary>
    public static IReadOnlyList<NativeLibraryProbe> ProbeTrace => Volatile.Read(ref s_trace);

    /// <summary>The file the library was loaded from, or <see langword="null"/> before a successful load.</summary>
    public static string? LoadedPath => Volatile.Read(ref s_loadedPath);

    /// <summary>The library's file name on this operating system.</summary>
    public static string PlatformFileName =>
        OperatingSystem.IsWindows() ? "mornative.dll" : OperatingSystem.IsMacOS() ? "libmornative.dylib" : "libmornative.so";

    /// <summary>The portable runtime identifier of this process (<c>linux-x64</c>, <c>win-x64</c>, ...).</summary>
    public static string PortableRid
    {
        get
        {
            string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
            string arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
            return $"{os}-{arch}";
        }
    }

    /// <summary>Installs <see cref="Resolve"/> for this assembly's imports.</summary>
    internal static void Register() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);

    /// <summary>Loads the library if it is not loaded yet and returns its handle.</summary>
    /// <exception cref="NativeLibraryLoadException">No candidate loads, or the ABI version differs.</exception>
    public static nint Load()
    {
        lock (s_gate)
        {
            if (s_handle != 0)
            {
                return s_handle;
            }

            var trace = new List<NativeLibraryProbe>();
            try
            {
                IReadOnlyList<NativeLibraryCandidate> candidates = EnumerateCandidates(
                    Environment.GetEnvironmentVariable(PathVariable),
                    AssemblyDirectory(),
                    AppContext.BaseDirectory,
                    [PortableRid, RuntimeInformation.RuntimeIdentifier],
                    PlatformFileName);
                (nint handle, string path) = LoadFirst(candidates, trace);
                VerifyAbiVersion(handle, path, NativeMethods.AbiVersion, trace);
                Volatile.Write(ref s_loadedPath, path);
                s_handle = handle;
                return handle;
            }
            finally
            {
                Volatile.Write(ref s_trace, trace.ToArray());
            }
        }
    }

    /// <summary>The places to try, in order, without duplicates.</summary>
    /// <param name="nativePathVariable">The value of <c>MOR_NATIVE_PATH</c>, if set.</param>
    /// <param name="assemblyDirectory">The folder holding MoR.Interop.dll, if known.</param>
    /// <param name="appBaseDirectory">The application base (<see cref="AppContext.BaseDirectory"/>).</param>
    /// <param name="runtimeIdentifiers">RIDs whose <c>runtimes/&lt;rid&gt;/native</c> folders to search.</param>
    /// <param name="fileName">The library's file name on this platform.</param>
    internal static IReadOnlyList<NativeLibraryCandidate> EnumerateCandidates(
        string? nativePathVariable,
        string? assemblyDirectory,
        string appBaseDirectory,
        IReadOnlyList<string> runtimeIdentifiers,
        string fileName)
    {
        var candidates = new List<NativeLibraryCandidate>();
        var seen = new HashSet<string>(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

        void Add(string source, string path)
        {
            string full = Path.GetFullPath(path);
            if (seen.Add(full))
            {
                candidates.Add(new NativeLibraryCandidate(source, full));
            }
        }

        if (!string.IsNullOrWhiteSpace(nativePathVariable))
        {
            if (Directory.Exists(nativePathVariable))
            {
                Add($"{PathVariable} (folder)", Path.Combine(nativePathVariable, fileName));
            }
            else
            {
                Add(PathVariable, nativePathVariable);
            }
        }

        if (!string.IsNullOrEmpty(assemblyDirectory))
        {
            Add("assembly directory", Path.Combine(assemblyDirectory, fileName));
            string? packageRoot = NuGetPackageRoot(assemblyDirectory);
            if (packageRoot is not null)
            {
                foreach (string rid in runtimeIdentifiers)
                {
                    Add($"NuGet package runtimes/{rid}/native", Path.Combine(packageRoot, "runtimes", rid, "native", fileName));
                }
            }
        }

        foreach (string rid in runtimeIdentifiers)
        {
            Add($"runtimes/{rid}/native", Path.Combine(appBaseDirectory, "runtimes", rid, "native", fileName));
        }

        candidates.Add(new NativeLibraryCandidate("operating system search", NativeMethods.LibraryName, IsBareName: true));
        return candidates;
    }

    /// <summary>The package folder when <paramref name="assemblyDirectory"/> is a NuGet package's <c>lib/&lt;tfm&gt;</c> folder, else null.</summary>
    internal static string? NuGetPackageRoot(string assemblyDirectory)
    {
        string tfmFolder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(assemblyDirectory));
        string? libFolder = Path.GetDirectoryName(tfmFolder);
        return libFolder is not null && Path.GetFileName(libFolder) == "lib" ? Path.GetDirectoryName(libFolder) : null;
    }

    /// <summary>Loads the first candidate that loads, recording every attempt in <paramref name="trace"/>.</summary>
    /// <exception cref="NativeLibraryLoadException">None loaded; the message lists every attempt.</exception>
    internal static (nint Handle, string Path) LoadFirst(IEnumerable<NativeLibraryCandidate> candidates, List<NativeLibraryProbe> trace)
    {
        foreach (NativeLibraryCandidate candidate in candidates)
        {
            if (!candidate.IsBareName && !File.Exists(candidate.Path))
            {
                trace.Add(new NativeLibraryProbe(candidate.Source, candidate.Path, false, "file does not exist"));
                continue;
            }

            try
            {
                nint handle = candidate.IsBareName
                    ? NativeLibrary.Load(candidate.Path, typeof(NativeLibraryResolver).Assembly, searchPath: null)
                    : NativeLibrary.Load(candidate.Path);
                trace.Add(new NativeLibraryProbe(candidate.Source, candidate.Path, true, "loaded"));
                return (handle, candidate.IsBareName ? $"{candidate.Path} (operating system search)" : candidate.Path);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                // The loader's text (dlerror / FormatMessage) says why: missing dependency, wrong architecture, ...
                trace.Add(new NativeLibraryProbe(candidate.Source, candidate.Path, false, OneLine(e.Message)));
            }
        }

        throw new NativeLibraryLoadException(
            $"Could not load the native MoR library ({PlatformFileName}).", trace.ToArray());
    }

    /// <summary>
    /// Checks that the library at <paramref name="handle"/> implements <paramref name="expectedVersion"/>;
    /// otherwise frees it, marks its trace entry failed and throws.
    /// </summary>
    internal static void VerifyAbiVersion(nint handle, string path, int expectedVersion, List<NativeLibraryProbe> trace)
    {
        string? problem = null;
        string summary = string.Empty;
        if (!NativeLibrary.TryGetExport(handle, "mor_abi_version", out nint export))
        {
            problem = "no mor_abi_version export";
            summary = $"{path} is not a MoRNative library: it does not export mor_abi_version.";
        }
        else
        {
            int actual = ((delegate* unmanaged<int>)export)();
            if (actual != expectedVersion)
            {
                problem = $"ABI version {actual}, expected {expectedVersion}";
                summary = $"{path} implements MoRNative ABI version {actual}, but MoR.Interop expects ABI version " +
                          $"{expectedVersion}. Rebuild the native library from the same sources or point {PathVariable} at a matching build.";
            }
        }

        if (problem is null)
        {
            return;
        }

        NativeLibrary.Free(handle);
        int last = trace.Count - 1;
        if (last >= 0 && trace[last].Succeeded)
        {
            trace[last] = trace[last] with { Succeeded = false, Detail = $"loaded, but {problem}" };
        }

        throw new NativeLibraryLoadException(summary, trace.ToArray());
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == NativeMethods.LibraryName ? Load() : 0;

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage(
        "SingleFile", "IL3000", Justification = "An empty Location (single-file apps) is handled: the application base is probed instead.")]
    private static string? AssemblyDirectory()
    {
        // Empty for single-file apps, where the application base is searched instead.
        string location = typeof(NativeLibraryResolver).Assembly.Location;
        return string.IsNullOrEmpty(location) ? null : Path.GetDirectoryName(location);
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
