using System.Globalization;
using System.Text;
using MoR.Text;

namespace MoR.Templates;

/// <summary>
/// Splits a preprocessed template (<see cref="TemplateSource"/>) into tokens, with Jinja's whitespace control:
/// <c>{%-</c>, <c>{{-</c>, <c>{#-</c> trim the text before the tag, <c>-%}</c>, <c>-}}</c>, <c>-#}</c> the text after it.
/// Follows @huggingface/jinja's lexer, the reference renderings are checked against. Generation markers are
/// transparent to trimming: whitespace around them is removed as if they were not there, and they stay.
/// </summary>
internal static class TemplateLexer
{
    // Longest first within each first character, as the reference orders them.
    private static readonly (string Text, TokenType Type)[] Symbols =
    [
        ("{%", TokenType.OpenStatement), ("%}", TokenType.CloseStatement), ("{{", TokenType.OpenExpression), ("}}", TokenType.CloseExpression),
        ("(", TokenType.OpenParen), (")", TokenType.CloseParen), ("{", TokenType.OpenCurlyBracket), ("}", TokenType.CloseCurlyBracket),
        ("[", TokenType.OpenSquareBracket), ("]", TokenType.CloseSquareBracket), (",", TokenType.Comma), (".", TokenType.Dot),
        (":", TokenType.Colon), ("|", TokenType.Pipe), ("<=", TokenType.ComparisonBinaryOperator), (">=", TokenType.ComparisonBinaryOperator),
        ("==", TokenType.ComparisonBinaryOperator), ("!=", TokenType.ComparisonBinaryOperator), ("<", TokenType.ComparisonBinaryOperator),
        (">", TokenType.ComparisonBinaryOperator), ("+", TokenType.AdditiveBinaryOperator), ("-", TokenType.AdditiveBinaryOperator),
        ("~", TokenType.AdditiveBinaryOperator), ("**", TokenType.ExponentiationBinaryOperator), ("*", TokenType.MultiplicativeBinaryOperator),
        ("//", TokenType.MultiplicativeBinaryOperator), ("/", TokenType.MultiplicativeBinaryOperator), ("%", TokenType.MultiplicativeBinaryOperator),
        ("=", TokenType.Equals),
    ];

    /// <summary>Lexes the source.</summary>
    /// <param name="src">The preprocessed template text.</param>
    /// <returns>The tokens.</returns>
    /// <exception cref="TemplateError">An unterminated string or comment, or a character that starts no token.</exception>
    public static List<TemplateToken> Tokenize(string src)
    {
        var tokens = new List<TemplateToken>();
        int pos = 0;
        int curlyDepth = 0;
        string pendingMarkers = string.Empty;

        TokenType? Last() => tokens.Count == 0 ? null : tokens[^1].Type;

        void Add(TokenType type, string value, int at)
        {
            if (pendingMarkers.Length > 0)
            {
                // Markers skipped over by "-%}" belong to the text that follows; if a tag follows instead they
                // become a text of their own (the reference would have produced no text there).
                string markers = pendingMarkers;
                pendingMarkers = string.Empty;
                if (type == TokenType.Text)
                {
                    value = markers + value;
                }
                else
                {
                    tokens.Add(new TemplateToken(TokenType.Text, markers, at));
                }
            }

            tokens.Add(new TemplateToken(type, value, at));
        }

        void StripTrailingWhitespace()
        {
            if (tokens.Count > 0 && tokens[^1].Type == TokenType.Text)
            {
                string trimmed = TrimEndKeepingMarkers(tokens[^1].Value);
                if (trimmed.Length == 0)
                {
                    tokens.RemoveAt(tokens.Count - 1);
                }
                else
                {
                    tokens[^1] = tokens[^1] with { Value = trimmed };
                }
            }
        }

        void SkipLeadingWhitespace()
        {
            var markers = new StringBuilder(pendingMarkers);
            while (pos < src.Length && (EcmaWhitespace.Is(src[pos]) || TemplateSource.IsMarker(src[pos])))
            {
                if (TemplateSource.IsMarker(src[pos]))
                {
                    markers.Append(src[pos]);
                }

                pos++;
            }

            pendingMarkers = markers.ToString();
        }

        void ConsumeWhitespace()
        {
            while (pos < src.Length && EcmaWhitespace.Is(src[pos]))
            {
                pos++;
            }

            if (pos >= src.Length)
            {
                throw new TemplateError(pos, "unexpected end of template inside a tag");
            }
        }

        while (pos < src.Length)
        {
            TokenType? last = Last();
            if (last is null or TokenType.CloseStatement or TokenType.CloseExpression or TokenType.Comment)
            {
                int end = pos;
                while (true)
                {
                    end = src.IndexOf('{', end);
                    if (end < 0)
                    {
                        end = src.Length;
                        break;
                    }

                    if (end + 1 < src.Length && src[end + 1] is '%' or '{' or '#')
                    {
                        break;
                    }

                    end++;
                }

                if (end > pos)
                {
                    Add(TokenType.Text, src[pos..end], pos);
                    pos = end;
                    continue;
                }
            }

            if (src[pos] == '{' && pos + 1 < src.Length)
            {
                char next = src[pos + 1];
                if (next == '#')
                {
                    int start = pos;
                    pos += 2;
                    bool stripBefore = pos < src.Length && src[pos] == '-';
                    if (stripBefore)
                    {
                        pos++;
                    }

                    int close = src.IndexOf("#}", pos, StringComparison.Ordinal);
                    if (close < 0)
                    {
                        throw new TemplateError(start, "a comment ({# … #}) is not closed");
                    }

                    string comment = src[pos..close];
                    bool stripAfter = comment.EndsWith('-');
                    if (stripBefore)
                    {
                        StripTrailingWhitespace();
                    }

                    Add(TokenType.Comment, stripAfter ? comment[..^1] : comment, start);
                    pos = close + 2;
                    if (stripAfter)
                    {
                        SkipLeadingWhitespace();
                    }

                    continue;
                }

                if (pos + 2 < src.Length && src[pos + 2] == '-' && next is '%' or '{')
                {
                    StripTrailingWhitespace();
                    Add(next == '%' ? TokenType.OpenStatement : TokenType.OpenExpression, next == '%' ? "{%" : "{{", pos);
                    if (next == '{')
                    {
                        curlyDepth = 0;
                    }

                    pos += 3;
                    continue;
                }
            }

            ConsumeWhitespace();
            char c = src[pos];
            if (c == '-' && pos + 2 < src.Length && src[pos + 2] == '}' && src[pos + 1] is '%' or '}')
            {
                Add(src[pos + 1] == '%' ? TokenType.CloseStatement : TokenType.CloseExpression, src[pos + 1] == '%' ? "%}" : "}}", pos);
                pos += 3;
                SkipLeadingWhitespace();
                continue;
            }

            if (c is '-' or '+')
            {
                last = Last();
                if (last is null or TokenType.Text)
                {
                    throw new TemplateError(pos, $"unexpected character '{c}'");
                }

                if (last is not (TokenType.Identifier or TokenType.NumericLiteral or TokenType.StringLiteral or TokenType.CloseParen or TokenType.CloseSquareBracket))
                {
                    // A sign where no operand precedes it: part of a number, or a unary operator.
                    int start = pos++;
                    string digits = ConsumeDigits(src, ref pos);
                    if (digits.Length > 0 && pos + 1 < src.Length && src[pos] == '.' && char.IsAsciiDigit(src[pos + 1]))
                    {
                        pos++;
                        digits = $"{digits}.{ConsumeDigits(src, ref pos)}";
                    }

                    Add(digits.Length > 0 ? TokenType.NumericLiteral : TokenType.UnaryOperator, c + digits, start);
                    continue;
                }
            }

            bool matched = false;
            foreach ((string text, TokenType type) in Symbols)
            {
                if (text[0] != c || (text == "}}" && curlyDepth > 0) || string.CompareOrdinal(src, pos, text, 0, text.Length) != 0)
                {
                    continue;
                }

                Add(type, text, pos);
                curlyDepth = type switch
                {
                    TokenType.OpenExpression => 0,
                    TokenType.OpenCurlyBracket => curlyDepth + 1,
                    TokenType.CloseCurlyBracket => curlyDepth - 1,
                    _ => curlyDepth,
                };
                pos += text.Length;
                matched = true;
                break;
            }

            if (matched)
            {
                continue;
            }

            if (c is '\'' or '"')
            {
                int start = pos++;
                Add(TokenType.StringLiteral, ConsumeString(src, ref pos, c, start), start);
                pos++;
                continue;
            }

            if (char.IsAsciiDigit(c))
            {
                int start = pos;
                string number = ConsumeDigits(src, ref pos);
                if (Last() != TokenType.Dot && pos + 1 < src.Length && src[pos] == '.' && char.IsAsciiDigit(src[pos + 1]))
                {
                    pos++;
                    number = $"{number}.{ConsumeDigits(src, ref pos)}";
                }

                Add(TokenType.NumericLiteral, number, start);
                continue;
            }

            if (IsWord(c))
            {
                int start = pos;
                while (pos < src.Length && IsWord(src[pos]))
                {
                    pos++;
                }

                Add(TokenType.Identifier, src[start..pos], start);
                continue;
            }

            throw new TemplateError(pos, $"unexpected character '{c}'");
        }

        if (pendingMarkers.Length > 0)
        {
            tokens.Add(new TemplateToken(TokenType.Text, pendingMarkers, src.Length));
        }

        return tokens;
    }

    private static bool IsWord(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static string ConsumeDigits(string src, ref int pos)
    {
        int start = pos;
        while (pos < src.Length && char.IsAsciiDigit(src[pos]))
        {
            pos++;
        }

        return src[start..pos];
    }

    private static string ConsumeString(string src, ref int pos, char quote, int start)
    {
        var sb = new StringBuilder();
        while (true)
        {
            if (pos >= src.Length)
            {
                throw new TemplateError(start, "a string literal is not closed");
            }

            char c = src[pos];
            if (c == quote)
            {
                return sb.ToString();
            }

            pos++;
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }

            if (pos >= src.Length)
            {
                throw new TemplateError(start, "a string literal is not closed");
            }

            char escaped = src[pos++];
            if (escaped is 'x' or 'u')
            {
                int length = escaped == 'x' ? 2 : 4;
                string hex = pos + length <= src.Length ? src.Substring(pos, length) : src[pos..];
                if (hex.Length != length || !hex.All(char.IsAsciiHexDigit))
                {
                    throw new TemplateError(pos - 2, $"invalid hexadecimal escape sequence \\{escaped}{hex}");
                }

                sb.Append((char)int.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                pos += length;
                continue;
            }

            sb.Append(escaped switch
            {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                'b' => '\b',
                'f' => '\f',
                'v' => '\v',
                '\'' => '\'',
                '"' => '"',
                '\\' => '\\',
                _ => throw new TemplateError(pos - 2, $"unknown escape sequence \\{escaped} in a string literal"),
            });
        }
    }

    // trimEnd() of text that may hold generation markers: whitespace before, between and after trailing markers
    // goes, the markers stay.
    private static string TrimEndKeepingMarkers(string text)
    {
        int end = text.Length;
        var markers = new StringBuilder();
        while (end > 0 && (EcmaWhitespace.Is(text[end - 1]) || TemplateSource.IsMarker(text[end - 1])))
        {
            if (TemplateSource.IsMarker(text[end - 1]))
            {
                markers.Insert(0, text[end - 1]);
            }

            end--;
        }

        return text[..end] + markers;
    }
}
