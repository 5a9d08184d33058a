using System.Text.Json;

namespace MoR.Tokenization;

/// <summary>A <c>tokenizer.json</c> pattern: <c>{"String": "…"}</c> (a literal) or <c>{"Regex": "…"}</c>.</summary>
internal sealed class TextPattern
{
    private readonly string? _literal;
    private readonly CodePointRegex? _regex;

    private TextPattern(string? literal, CodePointRegex? regex)
    {
        _literal = literal;
        _regex = regex;
    }

    /// <summary>Reads a pattern object.</summary>
    /// <param name="pattern">The JSON value.</param>
    /// <param name="owner">The component it belongs to, for messages.</param>
    /// <returns>The pattern.</returns>
    /// <exception cref="UnsupportedTokenizerException">Neither form, an empty literal, or a regex .NET cannot compile.</exception>
    public static TextPattern Parse(JsonElement pattern, string owner)
    {
        if (pattern.ValueKind == JsonValueKind.Object && pattern.TryGetProperty("String", out JsonElement s) && s.ValueKind == JsonValueKind.String)
        {
            string literal = s.GetString()!;
            return literal.Length > 0 ? new TextPattern(literal, null) : throw new UnsupportedTokenizerException($"its {owner} has an empty String pattern");
        }

        if (pattern.ValueKind == JsonValueKind.Object && pattern.TryGetProperty("Regex", out JsonElement r) && r.ValueKind == JsonValueKind.String)
        {
            try
            {
                return new TextPattern(null, new CodePointRegex(r.GetString()!));
            }
            catch (ArgumentException e)
            {
                throw new UnsupportedTokenizerException($"its {owner} regex cannot be compiled by .NET ({e.Message})");
            }
        }

        throw new UnsupportedTokenizerException($"its {owner} pattern is neither {{\"String\": …}} nor {{\"Regex\": …}}");
    }

    /// <summary>A pattern this library writes itself (known to compile).</summary>
    /// <param name="regex">The regular expression.</param>
    /// <returns>The pattern.</returns>
    public static TextPattern FromRegex(string regex) => new(null, new CodePointRegex(regex));

    /// <summary>Non-overlapping, non-empty matches from left to right.</summary>
    /// <param name="text">The text.</param>
    /// <returns>(start, length) pairs.</returns>
    public List<(int Start, int Length)> Matches(string text)
    {
        if (_regex is not null)
        {
            return _regex.Matches(text);
        }

        var result = new List<(int, int)>();
        for (int i = text.IndexOf(_literal!, StringComparison.Ordinal); i >= 0; i = text.IndexOf(_literal!, i + _literal!.Length, StringComparison.Ordinal))
        {
            result.Add((i, _literal!.Length));
        }

        return result;
    }

    /// <summary>Every match replaced by <paramref name="content"/>.</summary>
    /// <param name="text">The text.</param>
    /// <param name="content">The replacement (taken literally).</param>
    /// <returns>The new text.</returns>
    public string ReplaceAll(string text, string content)
    {
        if (_literal is not null)
        {
            return text.Replace(_literal, content, StringComparison.Ordinal);
        }

        List<(int Start, int Length)> matches = Matches(text);
        if (matches.Count == 0)
        {
            return text;
        }

        var sb = new System.Text.StringBuilder(text.Length);
        int last = 0;
        foreach ((int start, int length) in matches)
        {
            sb.Append(text, last, start - last).Append(content);
            last = start + length;
        }

        return sb.Append(text, last, text.Length - last).ToString();
    }
}
