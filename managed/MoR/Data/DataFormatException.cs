namespace MoR.Data;

/// <summary>A data file has a line that cannot be used; the message names the file and the line number.</summary>
public sealed class DataFormatException : Exception
{
    /// <summary>An error at <paramref name="path"/>:<paramref name="line"/>.</summary>
    public DataFormatException(string path, int line, string message, Exception? inner = null)
        : base($"{path}:{line}: {message}", inner)
    {
        Path = path;
        Line = line;
    }

    /// <summary>An error about <paramref name="path"/> as a whole (no one line is at fault); <see cref="Line"/> is 0.</summary>
    public DataFormatException(string path, string message)
        : base($"{path}: {message}")
    {
        Path = path;
    }

    /// <summary>The data file.</summary>
    public string Path { get; }

    /// <summary>The 1-based line number, or 0 when the error concerns the whole file.</summary>
    public int Line { get; }
}
