using System.Text.Json;

namespace MoR.Tokenization;

/// <summary>
/// A <c>tokenizer.json</c> <c>pre_tokenizer</c>: splits normalized text into the pieces BPE runs on separately
/// (LLaMA 3 and Qwen: a Split regex, then ByteLevel; SentencePiece-style files: none, or Metaspace).
/// </summary>
/// <remarks>
/// Semantics follow Hugging Face's JavaScript tokenizers (the reference the tests compare with), except where it
/// departs from the Rust library that wrote the files: Split's MergedWithPrevious / MergedWithNext / Contiguous
/// behaviours and Metaspace's <c>split</c> flag, which it ignores, are applied here as the Rust library applies them.
/// </remarks>
internal abstract class PreTokenizer
{
    /// <summary>Splits each piece further.</summary>
    /// <param name="pieces">The pieces so far.</param>
    /// <param name="firstSection">Whether this text opens the input (before any added token): Metaspace's
    /// <c>prepend_scheme: "first"</c> prepends only there.</param>
    /// <returns>The new pieces.</returns>
    public abstract List<string> Split(List<string> pieces, bool firstSection);

    /// <summary>Reads the <c>pre_tokenizer</c> value.</summary>
    /// <param name="json">The value (<c>null</c> for none).</param>
    /// <returns>The pre-tokenizer, or <see langword="null"/> for none.</returns>
    /// <exception cref="UnsupportedTokenizerException">A type or option this library does not implement.</exception>
    public static PreTokenizer? Parse(JsonElement json)
    {
        if (json.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return null;
        }

        string? type = JsonFields.Type(json);
        return type switch
        {
            "Sequence" => new SequencePreTokenizer([.. JsonFields.Items(json, "pretokenizers").Select(Parse).OfType<PreTokenizer>()]),
            "Split" => new SplitPreTokenizer(
                TextPattern.Parse(JsonFields.Property(json, "pattern"), "Split pre-tokenizer"),
                (JsonFields.String(json, "behavior") ?? "Isolated").ToLowerInvariant(),
                JsonFields.Bool(json, "invert")),
            "ByteLevel" => new ByteLevelPreTokenizer(JsonFields.Bool(json, "add_prefix_space"), JsonFields.Bool(json, "use_regex", absent: true)),
            "Metaspace" => MetaspacePreTokenizer.FromJson(json),
            "Digits" => new SplitPreTokenizer(
                TextPattern.FromRegex(JsonFields.Bool(json, "individual_digits") ? "[^0-9]+|[0-9]" : "[^0-9]+|[0-9]+"), "isolated", invert: true),
            "WhitespaceSplit" => new SplitPreTokenizer(TextPattern.FromRegex(@"[^\t\n\v\f\r \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]+"), "isolated", invert: true),
            _ => throw new UnsupportedTokenizerException($"its pre-tokenizer {type ?? "(no type)"} is not supported"),
        };
    }

    private sealed class SequencePreTokenizer(PreTokenizer[] steps) : PreTokenizer
    {
        public override List<string> Split(List<string> pieces, bool firstSection)
        {
            foreach (PreTokenizer step in steps)
            {
                pieces = step.Split(pieces, firstSection);
            }

            return pieces;
        }
    }

    private sealed class SplitPreTokenizer(TextPattern pattern, string behavior, bool invert) : PreTokenizer
    {
        public override List<string> Split(List<string> pieces, bool firstSection)
        {
            var result = new List<string>();
            foreach (string piece in pieces)
            {
                SplitOne(piece, result);
            }

            return result;
        }

        private void SplitOne(string text, List<string> result)
        {
            List<(int Start, int Length)> matches = pattern.Matches(text);
            if (invert)
            {
                // The reference keeps only the matches (the pattern describes the pieces, not the delimiters).
                result.AddRange(matches.Select(m => text.Substring(m.Start, m.Length)));
                return;
            }

            // Segments: the gaps between matches and the matches themselves, in order.
            var segments = new List<(string Text, bool IsMatch)>();
            int last = 0;
            foreach ((int start, int length) in matches)
            {
                if (start > last)
                {
                    segments.Add((text[last..start], false));
                }

                segments.Add((text.Substring(start, length), true));
                last = start + length;
            }

            if (last < text.Length)
            {
                segments.Add((text[last..], false));
            }

            switch (behavior)
            {
                case "removed":
                    result.AddRange(segments.Where(s => !s.IsMatch).Select(s => s.Text));
                    break;
                case "mergedwithprevious":
                    result.AddRange(MergeMatches(segments));
                    break;
                case "mergedwithnext":
                    // The same merge run from the end: a match joins the segment after it.
                    segments.Reverse();
                    result.AddRange(Enumerable.Reverse(MergeMatches(segments, prepend: true)));
                    break;
                case "contiguous":
                    bool previousMatch = false;
                    int first = result.Count;
                    foreach ((string segment, bool isMatch) in segments)
                    {
                        if (isMatch && previousMatch && result.Count > first)
                        {
                            result[^1] += segment;
                        }
                        else
                        {
                            result.Add(segment);
                        }

                        previousMatch = isMatch;
                    }

                    break;
                default: // isolated
                    result.AddRange(segments.Select(s => s.Text));
                    break;
            }
        }

        // The Rust library's rule: a match joins the segment before it, unless that segment is itself a match.
        private static List<string> MergeMatches(List<(string Text, bool IsMatch)> segments, bool prepend = false)
        {
            var pieces = new List<string>();
            bool previousMatch = false;
            foreach ((string text, bool isMatch) in segments)
            {
                if (isMatch && !previousMatch && pieces.Count > 0)
                {
                    pieces[^1] = prepend ? text + pieces[^1] : pieces[^1] + text;
                }
                else
                {
                    pieces.Add(text);
                }

                previousMatch = isMatch;
            }

            return pieces;
        }
    }

    private sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : PreTokenizer
    {
        // GPT-2's pattern as the reference runs it: JavaScript's \s (which includes U+FEFF but not U+0085).
        private const string JsSpace = @"\t\n\v\f\r \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF";
        private static readonly TextPattern Gpt2 = TextPattern.FromRegex(
            $@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{{L}}+| ?\p{{N}}+| ?[^{JsSpace}\p{{L}}\p{{N}}]+|[{JsSpace}]+(?![^{JsSpace}])|[{JsSpace}]+");

        public override List<string> Split(List<string> pieces, bool firstSection)
        {
            var result = new List<string>();
            foreach (string piece in pieces)
            {
                string text = addPrefixSpace && !piece.StartsWith(' ') ? " " + piece : piece;
                if (useRegex)
                {
                    result.AddRange(Gpt2.Matches(text).Select(m => ByteLevelAlphabet.Encode(text.Substring(m.Start, m.Length))));
                }
                else
                {
                    result.Add(ByteLevelAlphabet.Encode(text));
                }
            }

            return result;
        }
    }

    private sealed class MetaspacePreTokenizer(string replacement, string prependScheme, bool split) : PreTokenizer
    {
        public static MetaspacePreTokenizer FromJson(JsonElement json)
        {
            string replacement = JsonFields.String(json, "replacement") ?? "\u2581";
            if (replacement.Length == 0)
            {
                throw new UnsupportedTokenizerException("its Metaspace pre-tokenizer has an empty replacement");
            }

            // Older files state add_prefix_space instead of prepend_scheme.
            string scheme = JsonFields.String(json, "prepend_scheme")
                ?? (JsonFields.Bool(json, "add_prefix_space", absent: true) ? "always" : "never");
            return new MetaspacePreTokenizer(replacement, scheme, JsonFields.Bool(json, "split", absent: true));
        }

        public override List<string> Split(List<string> pieces, bool firstSection)
        {
            var result = new List<string>();
            foreach (string piece in pieces)
            {
                string text = piece.Replace(" ", replacement, StringComparison.Ordinal);
                if (!text.StartsWith(replacement, StringComparison.Ordinal) && (prependScheme == "always" || (prependScheme == "first" && firstSection)))
                {
                    text = replacement + text;
                }

                if (!split)
                {
                    result.Add(text);
                    continue;
                }

                // Each replacement character opens a new piece (the Rust library's MergedWithNext).
                int start = 0;
                for (int i = text.IndexOf(replacement, Math.Min(1, text.Length), StringComparison.Ordinal); i > 0; i = text.IndexOf(replacement, i + replacement.Length, StringComparison.Ordinal))
                {
                    result.Add(text[start..i]);
                    start = i;
                }

                if (start < text.Length)
                {
                    result.Add(text[start..]);
                }
            }

            return result;
        }
    }
}
