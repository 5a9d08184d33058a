using System.Globalization;

namespace MoR.Bench;

/// <summary>
/// <c>--name value</c> flags of one peer sub-command. Every flag must be read by the sub-command
/// (<see cref="ThrowIfUnused"/>), so a mistyped flag is an error instead of a silently ignored setting.
/// </summary>
internal sealed class PeerArguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public PeerArguments(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Count)
            {
                throw new PeerUsageException($"expected '--name value' pairs; got '{args[i]}'{(i + 1 >= args.Count ? " without a value" : string.Empty)}.");
            }

            if (!_values.TryAdd(args[i][2..], args[i + 1]))
            {
                throw new PeerUsageException($"{args[i]} is given twice.");
            }
        }
    }

    public string? Optional(string name)
    {
        _read.Add(name);
        return _values.GetValueOrDefault(name);
    }

    public string Required(string name) => Optional(name) ?? throw new PeerUsageException($"--{name} is required.");

    public string String(string name, string fallback) => Optional(name) ?? fallback;

    public int Int(string name, int fallback) => Optional(name) is string s ? Parse(name, s, int.Parse) : fallback;

    public double Double(string name, double fallback) => Optional(name) is string s ? Parse(name, s, double.Parse) : fallback;

    public void ThrowIfUnused()
    {
        string[] unused = [.. _values.Keys.Where(k => !_read.Contains(k))];
        if (unused.Length > 0)
        {
            throw new PeerUsageException($"this sub-command does not take {string.Join(", ", unused.Select(u => "--" + u))}.");
        }
    }

    private static T Parse<T>(string name, string text, Func<string, IFormatProvider, T> parse)
    {
        try
        {
            return parse(text, CultureInfo.InvariantCulture);
        }
        catch (FormatException)
        {
            throw new PeerUsageException($"--{name} '{text}' is not a {typeof(T).Name}.");
        }
    }
}
