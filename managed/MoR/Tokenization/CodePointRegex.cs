using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace MoR.Tokenization;

/// <summary>
/// A pre-tokenizer pattern from <c>tokenizer.json</c> (written for Oniguruma) run with the semantics Hugging Face
/// gives it: on code points, and with <c>(?i:…)</c> folding ASCII letters only. .NET matches UTF-16 units, so a
/// letter outside the Basic Multilingual Plane (𝐀, 𠀋) would be two non-letters to <c>\p{L}</c>; here each such
/// code point is matched as a one-unit stand-in of the same Unicode category, and offsets are mapped back.
/// </summary>
internal sealed class CodePointRegex
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(10);

    private readonly Regex _regex;

    /// <summary>Compiles a pattern.</summary>
    /// <param name="pattern">The pattern as <c>tokenizer.json</c> writes it.</param>
    /// <exception cref="ArgumentException">.NET cannot compile it (e.g. an Oniguruma-only construct).</exception>
    public CodePointRegex(string pattern)
    {
        foreach (char c in pattern)
        {
            if (char.IsSurrogate(c))
            {
                throw new ArgumentException("the pattern names a character outside the Basic Multilingual Plane, which is not supported");
            }
        }

        Pattern = pattern;
        _regex = new Regex(FoldInlineCaseInsensitiveGroups(pattern), RegexOptions.CultureInvariant, MatchTimeout);
    }

    /// <summary>The pattern as given.</summary>
    public string Pattern { get; }

    /// <summary>The stand-in for a supplementary code point: a BMP character of the same general category
    /// (never whitespace, never an ASCII letter, so no pattern literal or case folding can match it by accident).</summary>
    /// <param name="category">The code point's category.</param>
    /// <returns>The stand-in.</returns>
    public static char StandIn(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter => '\u00C0',
        UnicodeCategory.LowercaseLetter => '\u00E0',
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u05D0',
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '\u0660',
        UnicodeCategory.LetterNumber => '\u2160',
        UnicodeCategory.OtherNumber => '\u00B2',
        UnicodeCategory.Format => '\u00AD',
        UnicodeCategory.PrivateUse => '\uE000',
        UnicodeCategory.ConnectorPunctuation => '\u203F',
        UnicodeCategory.DashPunctuation => '\u2010',
        UnicodeCategory.OpenPunctuation => '\u2045',
        UnicodeCategory.ClosePunctuation => '\u2046',
        UnicodeCategory.InitialQuotePunctuation => '\u00AB',
        UnicodeCategory.FinalQuotePunctuation => '\u00BB',
        UnicodeCategory.OtherPunctuation => '\u00B6',
        UnicodeCategory.MathSymbol => '\u00AC',
        UnicodeCategory.CurrencySymbol => '\u00A2',
        UnicodeCategory.ModifierSymbol => '\u00B4',
        UnicodeCategory.OtherSymbol => '\u00A9',
        _ => '\u0378', // unassigned (no supplementary code point is whitespace, a separator or a control)
    };

    /// <summary>The non-empty matches, left to right, as offsets into <paramref name="text"/>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>(start, length) of each match.</returns>
    public List<(int Start, int Length)> Matches(string text)
    {
        var result = new List<(int, int)>();
        int[]? map = null;
        string subject = text;
        if (HasSurrogatePair(text))
        {
            (subject, map) = StandInSupplementary(text);
        }

        for (Match m = _regex.Match(subject); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0)
            {
                continue;
            }

            if (map is null)
            {
                result.Add((m.Index, m.Length));
            }
            else
            {
                int start = map[m.Index];
                result.Add((start, map[m.Index + m.Length] - start));
            }
        }

        return result;
    }

    private static bool HasSurrogatePair(string text)
    {
        for (int i = 0; i + 1 < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && char.IsLowSurrogate(text[i + 1]))
            {
                return true;
            }
        }

        return false;
    }

    // One unit per code point; map[i] is the offset in the original of the subject's unit i (map[length] = end).
    private static (string Subject, int[] Map) StandInSupplementary(string text)
    {
        var subject = new StringBuilder(text.Length);
        var map = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            map.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                int codePoint = char.ConvertToUtf32(text[i], text[i + 1]);
                subject.Append(StandIn(CharUnicodeInfo.GetUnicodeCategory(codePoint)));
                i++;
            }
            else
            {
                subject.Append(text[i]);
            }
        }

        map.Add(text.Length);
        return (subject.ToString(), [.. map]);
    }

    // Oniguruma's (?i:…) folds case by Unicode rules, but Hugging Face's JavaScript translation (the reference)
    // folds ASCII letters only; .NET would also match e.g. 'ſ' for 's' and the Kelvin sign for 'k'. A group of
    // plain literals and alternations is rewritten with explicit [xX] classes; anything more complex is left to .NET.
    private static string FoldInlineCaseInsensitiveGroups(string pattern)
    {
        const string Open = "(?i:";
        var sb = new StringBuilder(pattern.Length);
        int i = 0;
        while (i < pattern.Length)
        {
            if (pattern[i] == '\\' && i + 1 < pattern.Length)
            {
                sb.Append(pattern, i, 2);
                i += 2;
                continue;
            }

            if (string.CompareOrdinal(pattern, i, Open, 0, Open.Length) == 0)
            {
                int close = pattern.IndexOf(')', i + Open.Length);
                string body = close < 0 ? string.Empty : pattern[(i + Open.Length)..close];
                if (close >= 0 && body.All(c => char.IsAsciiLetterOrDigit(c) || c is '|' or '\'' or '_' or '-' or ' '))
                {
                    sb.Append("(?:");
                    foreach (char c in body)
                    {
                        if (char.IsAsciiLetter(c))
                        {
                            sb.Append('[').Append(char.ToLowerInvariant(c)).Append(char.ToUpperInvariant(c)).Append(']');
                        }
                        else
                        {
                            sb.Append(c);
                        }
                    }

                    sb.Append(')');
                    i = close + 1;
                    continue;
                }
            }

            sb.Append(pattern[i]);
            i++;
        }

        return sb.ToString();
    }
}
