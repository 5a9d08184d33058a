using System.Text;
using MoR.Text;

namespace MoR.Templates;

/// <summary>
/// A template's text after the whitespace control Hugging Face applies before lexing: one trailing newline dropped,
/// <c>lstrip_blocks</c> (spaces and tabs before <c>{%</c> / <c>{#</c> at a line start removed), <c>trim_blocks</c>
/// (the newline after <c>%}</c> / <c>#}</c> removed), and <c>{% generation %}</c> / <c>{% endgeneration %}</c> tags
/// replaced by one marker character each (they render nothing; the markers track what the assistant wrote).
/// Offsets map back to the original for line numbers in messages.
/// </summary>
internal sealed class TemplateSource
{
    /// <summary>Stands where <c>{% generation %}</c> stood (a Unicode noncharacter, never in text).</summary>
    public const char GenerationStart = '\uFDD0';

    /// <summary>Stands where <c>{% endgeneration %}</c> stood.</summary>
    public const char GenerationEnd = '\uFDD1';

    private readonly string _original;
    private readonly int[] _map;

    private TemplateSource(string original, string text, int[] map, bool hasGeneration)
    {
        _original = original;
        Text = text;
        _map = map;
        HasGenerationBlocks = hasGeneration;
    }

    /// <summary>The preprocessed text the lexer reads.</summary>
    public string Text { get; }

    /// <summary>Whether the template marks the assistant's output with generation blocks.</summary>
    public bool HasGenerationBlocks { get; }

    /// <summary>Whether a character is a generation marker.</summary>
    /// <param name="c">The character.</param>
    /// <returns><see langword="true"/> for a marker.</returns>
    public static bool IsMarker(char c) => c is GenerationStart or GenerationEnd;

    /// <summary>Preprocesses a template.</summary>
    /// <param name="original">The template as written.</param>
    /// <returns>The source.</returns>
    /// <exception cref="TemplateError">The template contains a marker character itself.</exception>
    public static TemplateSource Create(string original)
    {
        int marker = original.IndexOfAny([GenerationStart, GenerationEnd]);
        if (marker >= 0)
        {
            throw new TemplateError(-1, $"the template contains U+{(int)original[marker]:X4}, a noncharacter this engine reserves");
        }

        var text = new StringBuilder(original);
        var map = Enumerable.Range(0, original.Length + 1).ToList();
        if (text.Length > 0 && text[^1] == '\n')
        {
            Remove(text, map, text.Length - 1, 1);
        }

        LeftStripBlocks(text, map);
        TrimBlocks(text, map);
        bool generation = ReplaceGenerationTags(text, map);
        return new TemplateSource(original, text.ToString(), [.. map], generation);
    }

    /// <summary>The 1-based line of the original source a preprocessed offset comes from.</summary>
    /// <param name="position">The offset (clamped to the text).</param>
    /// <returns>The line.</returns>
    public int LineOf(int position)
    {
        int original = _map[Math.Clamp(position, 0, _map.Length - 1)];
        int line = 1;
        for (int i = 0; i < original && i < _original.Length; i++)
        {
            if (_original[i] == '\n')
            {
                line++;
            }
        }

        return line;
    }

    private static void Remove(StringBuilder text, List<int> map, int start, int count)
    {
        text.Remove(start, count);
        map.RemoveRange(start, count);
    }

    // /^[ \t]*({[#%-])/gm: line starts are the text start and the positions after \n, \r, U+2028, U+2029.
    private static void LeftStripBlocks(StringBuilder text, List<int> map)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (i > 0 && text[i - 1] is not ('\n' or '\r' or '\u2028' or '\u2029'))
            {
                continue;
            }

            int j = i;
            while (j < text.Length && text[j] is ' ' or '\t')
            {
                j++;
            }

            if (j > i && j + 1 < text.Length && text[j] == '{' && text[j + 1] is '#' or '%' or '-')
            {
                Remove(text, map, i, j - i);
            }
        }
    }

    // /([#%-]})\n/g
    private static void TrimBlocks(StringBuilder text, List<int> map)
    {
        for (int i = 0; i + 2 < text.Length; i++)
        {
            if (text[i] is '#' or '%' or '-' && text[i + 1] == '}' && text[i + 2] == '\n')
            {
                Remove(text, map, i + 2, 1);
                i++;
            }
        }
    }

    // /{%(-?)\s*(?:end)?generation\s*(-?)%}(\s*)/gs: "{%-" also removes the whitespace before the tag (not past the
    // previous tag), "-%}" the whitespace after it; the tag itself becomes a marker.
    private static bool ReplaceGenerationTags(StringBuilder text, List<int> map)
    {
        bool found = false;
        int lastEnd = 0;
        int i = 0;
        while (i < text.Length)
        {
            if (!TryMatchGenerationTag(text, i, out int tagEnd, out bool stripBefore, out bool stripAfter, out bool end))
            {
                i++;
                continue;
            }

            found = true;
            int afterEnd = tagEnd;
            while (afterEnd < text.Length && IsJsSpace(text[afterEnd]))
            {
                afterEnd++;
            }

            int removeFrom = i;
            while (stripBefore && removeFrom > lastEnd && EcmaWhitespace.Is(text[removeFrom - 1]))
            {
                removeFrom--;
            }

            int removeTo = stripAfter ? afterEnd : tagEnd;
            int markerOrigin = map[i];
            Remove(text, map, removeFrom, removeTo - removeFrom);
            text.Insert(removeFrom, end ? GenerationEnd : GenerationStart);
            map.Insert(removeFrom, markerOrigin);

            // The reference resumes after the whitespace that followed the tag, whether it kept it or not.
            i = removeFrom + 1 + (stripAfter ? 0 : afterEnd - tagEnd);
            lastEnd = i;
        }

        return found;
    }

    private static bool TryMatchGenerationTag(StringBuilder text, int start, out int tagEnd, out bool stripBefore, out bool stripAfter, out bool end)
    {
        tagEnd = 0;
        stripBefore = stripAfter = end = false;
        if (start + 1 >= text.Length || text[start] != '{' || text[start + 1] != '%')
        {
            return false;
        }

        int i = start + 2;
        if (i < text.Length && text[i] == '-')
        {
            stripBefore = true;
            i++;
        }

        while (i < text.Length && IsJsSpace(text[i]))
        {
            i++;
        }

        if (Matches(text, i, "end"))
        {
            end = true;
            i += 3;
        }

        if (!Matches(text, i, "generation"))
        {
            return false;
        }

        i += "generation".Length;
        while (i < text.Length && IsJsSpace(text[i]))
        {
            i++;
        }

        if (i < text.Length && text[i] == '-')
        {
            stripAfter = true;
            i++;
        }

        if (!Matches(text, i, "%}"))
        {
            return false;
        }

        tagEnd = i + 2;
        return true;
    }

    private static bool Matches(StringBuilder text, int at, string s)
    {
        if (at + s.Length > text.Length)
        {
            return false;
        }

        for (int k = 0; k < s.Length; k++)
        {
            if (text[at + k] != s[k])
            {
                return false;
            }
        }

        return true;
    }

    // JavaScript's \s: ECMAScript whitespace and line terminators.
    private static bool IsJsSpace(char c) => EcmaWhitespace.Is(c);
}
