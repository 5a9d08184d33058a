using System.Text;
using MoR.Numerics;

namespace MoR.Tests.Fuzz;

/// <summary>
/// Seeded mutations of JSON text, the kinds a hand edit, a bad tool or a bit flip make: values swapped for extreme
/// numbers, other types, NaN and Infinity literals or odd strings; key/value pairs repeated or dropped; bytes flipped,
/// deleted, repeated; the text cut short.
/// </summary>
internal sealed class JsonMutator(ulong seed)
{
    private static readonly string[] Numbers =
    [
        "0", "-1", "1", "2", "7", "1.5", "-0", "1e400", "-1e400", "1e-400", "2147483647", "2147483648", "-2147483649",
        "4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551616", "99999999999999999999999999",
        "1000000000", "65536", "NaN", "Infinity", "-Infinity", "0x10", "01", "1.", ".5", "1e", "-",
    ];

    private static readonly string[] Values =
    [
        "null", "true", "false", "[]", "{}", "\"\"", "\"x\"", "[1, 2]", "{\"a\": 1}", "[[[[[[[[[[]]]]]]]]]]", "\"\\u0000\"",
        "\"F32\"", "\"BF16\"", "\"I8\"", "\"F64\"", "\"MOR\"", "\"LORA\"", "\"MOE_LORA\"", "\"llama\"", "\"up_proj\"", "\".*\"", "\"(\"",
        "\"\\ud800\"", "\"" + new string('a', 300) + "\"",
    ];

    private const string Bytes = "{}[]:,\"\\ \n0123456789-+.eEntfalsu";

    private readonly SeededRandom _rng = new(seed);

    /// <summary>One to three mutations of <paramref name="json"/>.</summary>
    public string Mutate(string json)
    {
        string text = json;
        int count = 1 + _rng.NextInt(3);
        for (int i = 0; i < count; i++)
        {
            text = _rng.NextInt(9) switch
            {
                0 or 1 => ReplaceNumber(text),
                2 => ReplaceValue(text),
                3 => RepeatPair(text),
                4 => DropPair(text),
                5 => FlipByte(text),
                6 => DeleteSpan(text),
                7 => RepeatSpan(text),
                _ => Truncate(text),
            };
        }

        return text;
    }

    private int Pick(int n) => n <= 0 ? 0 : _rng.NextInt(n);

    private string ReplaceNumber(string s)
    {
        List<(int Start, int End)> numbers = Tokens(s, c => char.IsAsciiDigit(c) || c is '-' or '.' or 'e' or 'E' or '+', c => char.IsAsciiDigit(c) || c == '-');
        if (numbers.Count == 0)
        {
            return ReplaceValue(s);
        }

        (int start, int end) = numbers[Pick(numbers.Count)];
        return s[..start] + Numbers[Pick(Numbers.Length)] + s[end..];
    }

    // A value: whatever follows a ':' up to the next ',' or '}' at the same nesting (approximately: up to the next ',' '}' or ']').
    private string ReplaceValue(string s)
    {
        List<int> colons = [.. Enumerable.Range(0, s.Length).Where(i => s[i] == ':')];
        if (colons.Count == 0)
        {
            return FlipByte(s);
        }

        int at = colons[Pick(colons.Count)] + 1;
        int end = at;
        while (end < s.Length && s[end] is not (',' or '}' or ']'))
        {
            end++;
        }

        return s[..at] + " " + Values[Pick(Values.Length)] + s[end..];
    }

    private string RepeatPair(string s)
    {
        (int start, int end)? pair = Pair(s);
        return pair is { } p ? s[..p.end] + ", " + s[p.start..p.end] + s[p.end..] : s;
    }

    private string DropPair(string s)
    {
        (int start, int end)? pair = Pair(s);
        if (pair is not { } p)
        {
            return s;
        }

        int end = p.end < s.Length && s[p.end] == ',' ? p.end + 1 : p.end;
        return s[..p.start] + s[end..];
    }

    // A "key": value pair whose value is a scalar (no nested braces), found from a random quote.
    private (int Start, int End)? Pair(string s)
    {
        List<int> quotes = [.. Enumerable.Range(0, s.Length).Where(i => s[i] == '"' && i > 0 && s[i - 1] is '{' or ',' or ' ' or '\n')];
        for (int attempt = 0; attempt < 4 && quotes.Count > 0; attempt++)
        {
            int start = quotes[Pick(quotes.Count)];
            int colon = s.IndexOf(':', start);
            int end = colon < 0 ? -1 : s.IndexOfAny([',', '}', '{', '['], colon);
            if (end > 0 && s[end] is ',' or '}')
            {
                return (start, end);
            }
        }

        return null;
    }

    private string FlipByte(string s)
    {
        if (s.Length == 0)
        {
            return "{";
        }

        int at = Pick(s.Length);
        char c = _rng.NextInt(4) == 0 ? (char)_rng.NextInt(256) : Bytes[Pick(Bytes.Length)];
        return s[..at] + c + s[(at + 1)..];
    }

    private string DeleteSpan(string s)
    {
        int at = Pick(s.Length);
        int length = 1 + Pick(Math.Min(12, s.Length - at));
        return s[..at] + s[Math.Min(s.Length, at + length)..];
    }

    private string RepeatSpan(string s)
    {
        int at = Pick(s.Length);
        int length = 1 + Pick(Math.Min(24, s.Length - at));
        string span = s.Substring(at, Math.Min(length, s.Length - at));
        return s[..at] + span + s[at..];
    }

    private string Truncate(string s) => s[..Pick(s.Length)];

    private static List<(int Start, int End)> Tokens(string s, Func<char, bool> inside, Func<char, bool> first)
    {
        var found = new List<(int, int)>();
        bool inString = false;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '"' && (i == 0 || s[i - 1] != '\\'))
            {
                inString = !inString;
                continue;
            }

            if (!inString && first(s[i]) && (i == 0 || !inside(s[i - 1])))
            {
                int end = i;
                while (end < s.Length && inside(s[end]))
                {
                    end++;
                }

                found.Add((i, end));
                i = end - 1;
            }
        }

        return found;
    }

    /// <summary>The text as UTF-8, or (one time in eight) with a random byte where a character was: invalid UTF-8 included.</summary>
    public byte[] ToBytes(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length > 0 && _rng.NextInt(8) == 0)
        {
            bytes[Pick(bytes.Length)] = (byte)_rng.NextInt(256);
        }

        return bytes;
    }
}
