namespace MoR.IO;

/// <summary>
/// A weight file holds a NaN or an infinity: the file is corrupt, or it was saved from a diverged run. Loading
/// it would only produce NaN outputs, so loaders refuse it; the message names the file, the tensor and the
/// first bad element.
/// </summary>
public sealed class NonFiniteTensorException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file (or checkpoint location).</param>
    /// <param name="tensorName">The tensor.</param>
    /// <param name="index">The first non-finite element (row-major).</param>
    /// <param name="value">Its value as text (NaN, +Infinity, -Infinity).</param>
    public NonFiniteTensorException(string path, string tensorName, long index, string value)
        : base($"'{path}': tensor '{tensorName}' holds {value} at element {index}; the weights are corrupt or were saved from a diverged run")
    {
        FilePath = path;
        TensorName = tensorName;
        Index = index;
        Value = value;
    }

    /// <summary>The file (or checkpoint location).</summary>
    public string FilePath { get; }

    /// <summary>The tensor.</summary>
    public string TensorName { get; }

    /// <summary>The first non-finite element.</summary>
    public long Index { get; }

    /// <summary>Its value as text: NaN, +Infinity or -Infinity.</summary>
    public string Value { get; }
}
