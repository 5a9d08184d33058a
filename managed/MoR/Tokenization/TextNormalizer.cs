using System.Globalization;
using System.Text;
using System.Text.Json;
using MoR.Text;

namespace MoR.Tokenization;

/// <summary>
/// A <c>tokenizer.json</c> <c>normalizer</c>: rewrites text before it is split (LLaMA 2 / Mistral prepend "▁" and
/// turn spaces into "▁"; Gemma turns spaces into "▁"; Qwen applies NFC).
/// </summary>
internal abstract class TextNormalizer
{
    /// <summary>Rewrites the text.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The normalized text.</returns>
    public abstract string Normalize(string text);

    /// <summary>Reads the <c>normalizer</c> value.</summary>
    /// <param name="json">The value (<c>null</c> for none).</param>
    /// <returns>The normalizer, or <see langword="null"/> for none.</returns>
    /// <exception cref="UnsupportedTokenizerException">A type this library does not implement.</exception>
    public static TextNormalizer? Parse(JsonElement json)
    {
        if (json.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return null;
        }

        string? type = JsonFields.Type(json);
        return type switch
        {
            "Sequence" => new SequenceNormalizer([.. JsonFields.Items(json, "normalizers").Select(Parse).OfType<TextNormalizer>()]),
            "Replace" => new ReplaceNormalizer(TextPattern.Parse(JsonFields.Property(json, "pattern"), "Replace normalizer"), JsonFields.String(json, "content") ?? string.Empty),
            "Prepend" => new PrependNormalizer(JsonFields.String(json, "prepend") ?? string.Empty),
            "NFC" => new UnicodeNormalizer(NormalizationForm.FormC),
            "NFD" => new UnicodeNormalizer(NormalizationForm.FormD),
            "NFKC" => new UnicodeNormalizer(NormalizationForm.FormKC),
            "NFKD" => new UnicodeNormalizer(NormalizationForm.FormKD),
            "Lowercase" => new LowercaseNormalizer(),
            "Strip" => new StripNormalizer(JsonFields.Bool(json, "strip_left"), JsonFields.Bool(json, "strip_right")),
            "StripAccents" => new StripAccentsNormalizer(),
            _ => throw new UnsupportedTokenizerException($"its normalizer {type ?? "(no type)"} is not supported"),
        };
    }

    private sealed class SequenceNormalizer(TextNormalizer[] steps) : TextNormalizer
    {
        public override string Normalize(string text)
        {
            foreach (TextNormalizer step in steps)
            {
                text = step.Normalize(text);
            }

            return text;
        }
    }

    private sealed class ReplaceNormalizer(TextPattern pattern, string content) : TextNormalizer
    {
        public override string Normalize(string text) => pattern.ReplaceAll(text, content);
    }

    private sealed class PrependNormalizer(string prefix) : TextNormalizer
    {
        public override string Normalize(string text) => prefix + text;
    }

    private sealed class UnicodeNormalizer(NormalizationForm form) : TextNormalizer
    {
        public override string Normalize(string text) => text.Normalize(form);
    }

    private sealed class LowercaseNormalizer : TextNormalizer
    {
        public override string Normalize(string text) => text.ToLowerInvariant();
    }

    private sealed class StripNormalizer(bool left, bool right) : TextNormalizer
    {
        public override string Normalize(string text)
        {
            if (left)
            {
                text = EcmaWhitespace.TrimStart(text);
            }

            return right ? EcmaWhitespace.TrimEnd(text) : text;
        }
    }

    private sealed class StripAccentsNormalizer : TextNormalizer
    {
        public override string Normalize(string text)
        {
            var sb = new StringBuilder(text.Length);
            for (int i = 0; i < text.Length; i++)
            {
                int width = char.IsSurrogatePair(text, i) ? 2 : 1;
                UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(text, i);
                if (category is not (UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark))
                {
                    sb.Append(text, i, width);
                }

                i += width - 1;
            }

            return sb.ToString();
        }
    }
}
