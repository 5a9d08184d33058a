using System.Globalization;
using System.Text.RegularExpressions;

namespace MoR.Cli;

/// <summary>Sizes on the command line: a byte count with an optional binary suffix (<c>512M</c>, <c>8G</c>, <c>8GiB</c>, <c>1.5T</c>).</summary>
internal static partial class ByteSize
{
    /// <summary>Parses <paramref name="text"/>; a malformed or non-positive size is a usage error naming <paramref name="option"/>.</summary>
    public static long Parse(string text, string option)
    {
        Match m = Size().Match(text);
        double scale = m.Success ? char.ToUpperInvariant(m.Groups[2].Value.FirstOrDefault('B')) switch
        {
            'K' => 1L << 10,
            'M' => 1L << 20,
            'G' => 1L << 30,
            'T' => 1L << 40,
            _ => 1,
        } : 0;
        double bytes = m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * scale : 0;
        if (!(bytes >= 1) || bytes >= long.MaxValue)
        {
            throw new UsageException($"{option} '{text}' is not a size (e.g. 8G, 512M or a byte count).");
        }

        return (long)bytes;
    }

    [GeneratedRegex(@"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Size();
}
