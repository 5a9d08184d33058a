namespace MoR.Interop;

/// <summary>A place the resolver will try to load the native library from.</summary>
/// <param name="Source">Which rule produced it, for the trace.</param>
/// <param name="Path">A file path, or a bare library name when <paramref name="IsBareName"/>.</param>
/// <param name="IsBareName">Load through the operating system's own search instead of a path.</param>
internal readonly record struct NativeLibraryCandidate(string Source, string Path, bool IsBareName = false);
