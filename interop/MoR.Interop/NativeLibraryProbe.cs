namespace MoR.Interop;

/// <summary>One attempt to load the native library: where, and what happened.</summary>
/// <param name="Source">Which rule produced the candidate (for example <c>MOR_NATIVE_PATH</c> or <c>assembly directory</c>).</param>
/// <param name="Path">The file tried, or the bare library name for the operating system's search.</param>
/// <param name="Succeeded">Whether the library was loaded from here.</param>
/// <param name="Detail">Why it failed, or <c>loaded</c>.</param>
public sealed record NativeLibraryProbe(string Source, string Path, bool Succeeded, string Detail)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Source}: {Path} -> {Detail}";
}
