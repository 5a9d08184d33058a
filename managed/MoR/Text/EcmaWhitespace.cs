namespace MoR.Text;

/// <summary>
/// Whitespace as ECMAScript's <c>String.prototype.trim</c> sees it (WhiteSpace and LineTerminator): the
/// references the tokenizers and chat templates are checked against (Hugging Face's JavaScript libraries)
/// trim with it. It differs from <see cref="char.IsWhiteSpace(char)"/> on U+FEFF (trimmed here) and U+0085 (kept).
/// </summary>
internal static class EcmaWhitespace
{
    /// <summary>Whether ECMAScript's trim removes this UTF-16 unit.</summary>
    /// <param name="c">The unit.</param>
    /// <returns><see langword="true"/> for whitespace.</returns>
    public static bool Is(char c) => c switch
    {
        '\t' or '\n' or '\v' or '\f' or '\r' or ' ' or '\u00A0' or '\u1680' or '\u2028' or '\u2029' or '\u202F' or '\u205F' or '\u3000' or '\uFEFF' => true,
        >= '\u2000' and <= '\u200A' => true,
        _ => false,
    };

    /// <summary><c>s.trim()</c>.</summary>
    /// <param name="s">The text.</param>
    /// <returns>The text without leading and trailing whitespace.</returns>
    public static string Trim(string s) => TrimEnd(TrimStart(s));

    /// <summary><c>s.trimStart()</c>.</summary>
    /// <param name="s">The text.</param>
    /// <returns>The text without leading whitespace.</returns>
    public static string TrimStart(string s)
    {
        int i = 0;
        while (i < s.Length && Is(s[i]))
        {
            i++;
        }

        return i == 0 ? s : s[i..];
    }

    /// <summary><c>s.trimEnd()</c>.</summary>
    /// <param name="s">The text.</param>
    /// <returns>The text without trailing whitespace.</returns>
    public static string TrimEnd(string s)
    {
        int end = s.Length;
        while (end > 0 && Is(s[end - 1]))
        {
            end--;
        }

        return end == s.Length ? s : s[..end];
    }
}
