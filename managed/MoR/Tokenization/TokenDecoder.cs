using System.Text;
using System.Text.Json;

namespace MoR.Tokenization;

/// <summary>
/// A <c>tokenizer.json</c> <c>decoder</c>: turns token strings back into text (byte-level files map the byte
/// alphabet back to UTF-8; SentencePiece-style files turn "▁" into spaces, join <c>&lt;0xNN&gt;</c> byte tokens and
/// drop the space the normalizer prepended).
/// </summary>
internal abstract class TokenDecoder
{
    /// <summary>Transforms the token strings; the decoded text is the concatenation of the result.</summary>
    /// <param name="tokens">The token strings.</param>
    /// <returns>The transformed strings.</returns>
    public abstract List<string> Decode(List<string> tokens);

    /// <summary>Reads the <c>decoder</c> value.</summary>
    /// <param name="json">The value (<c>null</c> for none).</param>
    /// <param name="addedTokens">The added tokens' texts: a byte-level decoder passes them through unchanged.</param>
    /// <returns>The decoder, or <see langword="null"/> for none (tokens are then joined with spaces).</returns>
    /// <exception cref="UnsupportedTokenizerException">A type this library does not implement.</exception>
    public static TokenDecoder? Parse(JsonElement json, IReadOnlySet<string> addedTokens)
    {
        if (json.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return null;
        }

        string? type = JsonFields.Type(json);
        return type switch
        {
            "Sequence" => new SequenceDecoder([.. JsonFields.Items(json, "decoders").Select(d => Parse(d, addedTokens)).OfType<TokenDecoder>()]),
            "Replace" => new ReplaceDecoder(TextPattern.Parse(JsonFields.Property(json, "pattern"), "Replace decoder"), JsonFields.String(json, "content") ?? string.Empty),
            "ByteFallback" => new ByteFallbackDecoder(),
            "Fuse" => new FuseDecoder(),
            "Strip" => new StripDecoder(JsonFields.String(json, "content") ?? string.Empty, JsonFields.Int(json, "start") ?? 0, JsonFields.Int(json, "stop") ?? 0),
            "ByteLevel" => new ByteLevelDecoder(addedTokens),
            "Metaspace" => new MetaspaceDecoder(JsonFields.String(json, "replacement") ?? "\u2581"),
            "BPEDecoder" => new BpeSuffixDecoder(JsonFields.String(json, "suffix") ?? string.Empty),
            _ => throw new UnsupportedTokenizerException($"its decoder {type ?? "(no type)"} is not supported"),
        };
    }

    private sealed class SequenceDecoder(TokenDecoder[] steps) : TokenDecoder
    {
        public override List<string> Decode(List<string> tokens)
        {
            foreach (TokenDecoder step in steps)
            {
                tokens = step.Decode(tokens);
            }

            return tokens;
        }
    }

    private sealed class ReplaceDecoder(TextPattern pattern, string content) : TokenDecoder
    {
        public override List<string> Decode(List<string> tokens) => [.. tokens.Select(t => pattern.ReplaceAll(t, content))];
    }

    private sealed class FuseDecoder : TokenDecoder
    {
        public override List<string> Decode(List<string> tokens) => [string.Concat(tokens)];
    }

    private sealed class StripDecoder(string content, int start, int stop) : TokenDecoder
    {
        // The reference compares one character at a time with the content string, so only a one-character content strips.
        public override List<string> Decode(List<string> tokens) => [.. tokens.Select(Strip)];

        private string Strip(string token)
        {
            int from = 0;
            for (int i = 0; i < start && i < token.Length && content.Length == 1 && token[i] == content[0]; i++)
            {
                from = i + 1;
            }

            int to = token.Length;
            for (int i = 0; i < stop && token.Length - i - 1 >= 0 && content.Length == 1 && token[token.Length - i - 1] == content[0]; i++)
            {
                to = token.Length - i - 1;
            }

            return to > from ? token[from..to] : string.Empty;
        }
    }

    private sealed class ByteFallbackDecoder : TokenDecoder
    {
        public override List<string> Decode(List<string> tokens)
        {
            var result = new List<string>(tokens.Count);
            var bytes = new List<byte>();
            foreach (string token in tokens)
            {
                if (TryParseByte(token, out byte b))
                {
                    bytes.Add(b);
                    continue;
                }

                Flush(bytes, result);
                result.Add(token);
            }

            Flush(bytes, result);
            return result;
        }

        // "<0xNN>"; like JavaScript's parseInt, a hex prefix of "NN" is enough ("<0x1G>" is byte 1).
        private static bool TryParseByte(string token, out byte value)
        {
            value = 0;
            if (token.Length != 6 || !token.StartsWith("<0x", StringComparison.Ordinal) || token[5] != '>' || !char.IsAsciiHexDigit(token[3]))
            {
                return false;
            }

            value = char.IsAsciiHexDigit(token[4]) ? Convert.ToByte(token.Substring(3, 2), 16) : Convert.ToByte(token.Substring(3, 1), 16);
            return true;
        }

        // A UTF-8 decoder that, like the reference's, drops a byte-order mark at the start and replaces bad bytes with U+FFFD.
        private static void Flush(List<byte> bytes, List<string> result)
        {
            if (bytes.Count == 0)
            {
                return;
            }

            int skip = bytes.Count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
            result.Add(Encoding.UTF8.GetString([.. bytes.Skip(skip)]));
            bytes.Clear();
        }
    }

    private sealed class ByteLevelDecoder(IReadOnlySet<string> addedTokens) : TokenDecoder
    {
        public override List<string> Decode(List<string> tokens)
        {
            var result = new List<string>();
            var run = new StringBuilder();
            foreach (string token in tokens)
            {
                if (addedTokens.Contains(token))
                {
                    Flush(run, result);
                    result.Add(token);
                }
                else
                {
                    run.Append(token);
                }
            }

            Flush(run, result);
            return result;
        }

        private static void Flush(StringBuilder run, List<string> result)
        {
            if (run.Length == 0)
            {
                return;
            }

            // Characters outside the byte alphabet become byte 0, as the reference's typed array turns them into 0.
            var bytes = new List<byte>(run.Length);
            string text = run.ToString();
            for (int i = 0; i < text.Length; i++)
            {
                bytes.Add(ByteLevelAlphabet.TryGetByte(text[i], out byte b) ? b : (byte)0);
                if (char.IsSurrogatePair(text, i))
                {
                    i++;
                }
            }

            result.Add(Encoding.UTF8.GetString([.. bytes]));
            run.Clear();
        }
    }

    private sealed class MetaspaceDecoder(string replacement) : TokenDecoder
    {
        public override List<string> Decode(List<string> tokens)
        {
            var result = new List<string>(tokens.Count);
            for (int i = 0; i < tokens.Count; i++)
            {
                string text = tokens[i].Replace(replacement, " ", StringComparison.Ordinal);
                result.Add(i == 0 && text.StartsWith(' ') ? text[1..] : text);
            }

            return result;
        }
    }

    private sealed class BpeSuffixDecoder(string suffix) : TokenDecoder
    {
        public override List<string> Decode(List<string> tokens) =>
            suffix.Length == 0 ? tokens : [.. tokens.Select((t, i) => t.Replace(suffix, i == tokens.Count - 1 ? string.Empty : " ", StringComparison.Ordinal))];
    }
}
