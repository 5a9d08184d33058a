namespace MoR.IO;

/// <summary>
/// A JSON file the project reads (a config, an adapter config, a trainer state) is not valid JSON: a syntax
/// error, an empty file, a repeated key, or a top-level value of the wrong kind. The message names the file
/// and, where the parser knows it, the 1-based line and byte position.
/// </summary>
public sealed class JsonFileException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file.</param>
    /// <param name="line">The 1-based line of the error, if known.</param>
    /// <param name="position">The 1-based byte position in that line, if known.</param>
    /// <param name="detail">What is wrong.</param>
    /// <param name="innerException">The parser error behind it, if any.</param>
    public JsonFileException(string path, long? line, long? position, string detail, Exception? innerException = null)
        : base(Compose(path, line, position, detail), innerException)
    {
        FilePath = path;
        Line = line;
        Position = position;
        Detail = detail;
    }

    /// <summary>The file.</summary>
    public string FilePath { get; }

    /// <summary>The 1-based line of the error, if known.</summary>
    public long? Line { get; }

    /// <summary>The 1-based byte position within <see cref="Line"/>, if known.</summary>
    public long? Position { get; }

    /// <summary>What is wrong, without the file name.</summary>
    public string Detail { get; }

    private static string Compose(string path, long? line, long? position, string detail)
    {
        string where = line is long l ? position is long p ? $" at line {l}, byte {p}" : $" at line {l}" : string.Empty;
        return $"'{path}' is not valid JSON{where}: {detail}";
    }
}
