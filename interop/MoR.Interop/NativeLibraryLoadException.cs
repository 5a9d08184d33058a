namespace MoR.Interop;

/// <summary>
/// The native MoR library could not be loaded, or the one found was built for another ABI version.
/// The message lists every path tried and why each failed.
/// </summary>
public class NativeLibraryLoadException : Exception
{
    /// <summary>Creates the exception from a summary and the attempts that led to it.</summary>
    /// <param name="summary">What went wrong, in one sentence.</param>
    /// <param name="probes">Every attempt made, in order.</param>
    public NativeLibraryLoadException(string summary, IReadOnlyList<NativeLibraryProbe> probes)
        : base(FormatMessage(summary, probes))
    {
        Summary = summary;
        Probes = probes;
    }

    /// <summary>What went wrong, without the list of attempts.</summary>
    public string Summary { get; }

    /// <summary>Every attempt made, in order.</summary>
    public IReadOnlyList<NativeLibraryProbe> Probes { get; }

    private static string FormatMessage(string summary, IReadOnlyList<NativeLibraryProbe> probes)
    {
        var message = new System.Text.StringBuilder(summary);
        message.AppendLine().Append("Paths tried:");
        foreach (NativeLibraryProbe probe in probes)
        {
            message.AppendLine().Append("  ").Append(probe);
        }

        message.AppendLine()
            .Append("Build it with `dotnet build` (runs CMake), or set ")
            .Append(NativeLibraryResolver.PathVariable)
            .Append(" to the library file or its folder.");
        return message.ToString();
    }
}
