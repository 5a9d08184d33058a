using System.Globalization;
using System.Text;

namespace MoR.Templates;

/// <summary>
/// <c>tojson</c> and the printing of lists and dicts, as the reference writes them: Python's <c>json.dumps</c>
/// layout (<c>", "</c> and <c>": "</c> separators, or <c>","</c> with an indent) with JavaScript's string escaping
/// (non-ASCII kept unless <c>ensure_ascii</c>).
/// </summary>
internal static class TemplateJson
{
    /// <summary>Serializes a value.</summary>
    /// <param name="value">The value.</param>
    /// <param name="options">Layout options.</param>
    /// <param name="undefinedAsNull">Write undefined as <c>null</c> (tojson) rather than <c>undefined</c> (printing).</param>
    /// <returns>The JSON text.</returns>
    /// <exception cref="TemplateError">A function inside the value.</exception>
    public static string Serialize(TemplateValue value, Options options, bool undefinedAsNull)
    {
        var sb = new StringBuilder();
        Write(sb, value, options, 0, undefinedAsNull);
        return sb.ToString();
    }

    /// <summary>JavaScript's <c>JSON.stringify</c> of a string.</summary>
    /// <param name="s">The string.</param>
    /// <returns>The quoted, escaped string.</returns>
    public static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '\b':
                    sb.Append("\\b");
                    break;
                case '\f':
                    sb.Append("\\f");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                case '\r':
                    sb.Append("\\r");
                    break;
                case '\t':
                    sb.Append("\\t");
                    break;
                default:
                    bool loneSurrogate = char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                        && !(char.IsLowSurrogate(c) && i > 0 && char.IsHighSurrogate(s[i - 1]));
                    if (c < 0x20 || loneSurrogate)
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        return sb.Append('"').ToString();
    }

    private static void Write(StringBuilder sb, TemplateValue value, Options o, int depth, bool undefinedAsNull)
    {
        (string itemSeparator, string keySeparator) = o.Separators ?? (o.Indent is > 0 ? (",", ": ") : (", ", ": "));
        switch (value)
        {
            case NullValue:
                sb.Append("null");
                return;
            case UndefinedValue:
                sb.Append(undefinedAsNull ? "null" : "undefined");
                return;
            case NumberValue n:
                sb.Append(double.IsFinite(n.Value) ? JsNumber.Format(n.Value) : "null");
                return;
            case BooleanValue b:
                sb.Append(b.Value ? "true" : "false");
                return;
            case StringValue s:
                sb.Append(Escape(Quote(s.Value), o));
                return;
            case ArrayValue or ObjectValue or NamespaceValue:
                break;
            default:
                throw new TemplateError(-1, $"cannot convert {value.Described} to JSON");
        }

        string indent = o.Indent is int width and > 0 ? new string(' ', width) : string.Empty;
        string basePadding = "\n" + string.Concat(Enumerable.Repeat(indent, depth));
        string childPadding = basePadding + indent;
        bool pretty = indent.Length > 0;
        if (value is ArrayValue array)
        {
            var items = array.Items.Select(item =>
            {
                var child = new StringBuilder();
                Write(child, item, o, depth + 1, undefinedAsNull);
                return child.ToString();
            }).ToList();
            sb.Append(pretty && items.Count > 0
                ? $"[{childPadding}{string.Join(itemSeparator + childPadding, items)}{basePadding}]"
                : $"[{string.Join(itemSeparator, items)}]");
            return;
        }

        IEnumerable<KeyValuePair<string, TemplateValue>> entries = value is ObjectValue obj ? obj.Entries : ((NamespaceValue)value).Entries;
        if (o.SortKeys)
        {
            // The reference sorts with localeCompare.
            entries = entries.OrderBy(e => e.Key, StringComparer.InvariantCulture);
        }

        var parts = entries.Select(e =>
        {
            var child = new StringBuilder();
            Write(child, e.Value, o, depth + 1, undefinedAsNull);
            string entry = $"{Escape(Quote(e.Key), o)}{keySeparator}{child}";
            return pretty ? childPadding + entry : entry;
        }).ToList();
        sb.Append(pretty && parts.Count > 0 ? $"{{{string.Join(itemSeparator, parts)}{basePadding}}}" : $"{{{string.Join(itemSeparator, parts)}}}");
    }

    // ensure_ascii: every UTF-16 unit from U+007F up as \uXXXX.
    private static string Escape(string quoted, Options o)
    {
        if (!o.EnsureAscii)
        {
            return quoted;
        }

        var sb = new StringBuilder(quoted.Length);
        foreach (char c in quoted)
        {
            if (c >= 0x7F)
            {
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    /// <summary>tojson's keyword arguments.</summary>
    /// <param name="Indent">Spaces per level, or null for one line.</param>
    /// <param name="EnsureAscii">Escape non-ASCII.</param>
    /// <param name="SortKeys">Sort dict keys.</param>
    /// <param name="Separators">(item, key) separators.</param>
    internal sealed record Options(int? Indent = null, bool EnsureAscii = false, bool SortKeys = false, (string Item, string Key)? Separators = null);
}
