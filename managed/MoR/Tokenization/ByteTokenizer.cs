using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MoR.Tokenization;

/// <summary>
/// The project's own tokenizer for its tiny models: one id per UTF-8 byte, plus five special tokens.
/// Needs no data files, never meets an unknown character, and decodes exactly what it encoded.
/// </summary>
/// <remarks>
/// Ids: 0–255 are the bytes themselves (id = byte value), then <c>&lt;pad&gt;</c> = 256, <c>&lt;s&gt;</c> (BOS) = 257,
/// <c>&lt;/s&gt;</c> (EOS) = 258, <c>&lt;|im_start|&gt;</c> = 259, <c>&lt;|im_end|&gt;</c> = 260; <see cref="VocabSize"/> = 261.
/// Only the two ChatML markers are recognised inside text (so chat prompts format as ChatML); BOS, EOS
/// and padding never come from text, so a literal "&lt;s&gt;" in data stays four bytes.
/// </remarks>
public sealed class ByteTokenizer : ITextTokenizer
{
    /// <summary>Value of <c>tokenizer_class</c> in the <c>tokenizer_config.json</c> that <see cref="Save"/> writes.</summary>
    public const string TokenizerClassName = "MoRByteTokenizer";

    /// <summary>The padding id.</summary>
    public const int Pad = 256;

    /// <summary>The beginning-of-sequence id.</summary>
    public const int Bos = 257;

    /// <summary>The end-of-sequence id.</summary>
    public const int Eos = 258;

    /// <summary>The ChatML turn-start id.</summary>
    public const int ImStart = 259;

    /// <summary>The ChatML turn-end id.</summary>
    public const int ImEnd = 260;

    private static readonly string[] SpecialTokens = ["<pad>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"];

    /// <summary>The shared instance (the tokenizer has no state).</summary>
    public static ByteTokenizer Instance { get; } = new();

    /// <inheritdoc/>
    public int VocabSize => 261;

    /// <inheritdoc/>
    public int? BosId => Bos;

    /// <inheritdoc/>
    public int EosId => Eos;

    /// <inheritdoc/>
    public int? PadId => Pad;

    /// <inheritdoc/>
    public int[] Encode(string text, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length + 1);
        if (addBos)
        {
            ids.Add(Bos);
        }

        ReadOnlySpan<char> rest = text;
        while (!rest.IsEmpty)
        {
            int start = rest.IndexOf("<|im_", StringComparison.Ordinal);
            ReadOnlySpan<char> plain = start < 0 ? rest : rest[..start];
            AppendBytes(ids, plain);
            if (start < 0)
            {
                break;
            }

            rest = rest[start..];
            if (rest.StartsWith(SpecialTokens[ImStart - Pad], StringComparison.Ordinal))
            {
                ids.Add(ImStart);
                rest = rest[SpecialTokens[ImStart - Pad].Length..];
            }
            else if (rest.StartsWith(SpecialTokens[ImEnd - Pad], StringComparison.Ordinal))
            {
                ids.Add(ImEnd);
                rest = rest[SpecialTokens[ImEnd - Pad].Length..];
            }
            else
            {
                AppendBytes(ids, rest[..1]);
                rest = rest[1..];
            }
        }

        return [.. ids];
    }

    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>(ids.Length);
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)VocabSize)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id outside the byte tokenizer's vocabulary [0, {VocabSize}).");
            }

            if (id < 256)
            {
                bytes.Add((byte)id);
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <inheritdoc/>
    public bool TryGetTokenId(string token, out int id)
    {
        ArgumentNullException.ThrowIfNull(token);
        int special = Array.IndexOf(SpecialTokens, token);
        if (special >= 0)
        {
            id = Pad + special;
            return true;
        }

        byte[] utf8 = Encoding.UTF8.GetBytes(token);
        id = utf8.Length == 1 ? utf8[0] : -1;
        return utf8.Length == 1;
    }

    /// <summary>The string form of a token id (a special token's name, or the byte as <c>&lt;0xNN&gt;</c>).</summary>
    /// <param name="id">An id in [0, <see cref="VocabSize"/>).</param>
    /// <returns>E.g. <c>&lt;/s&gt;</c> or <c>&lt;0x41&gt;</c>.</returns>
    public string GetTokenString(int id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(id, VocabSize);
        return id >= Pad ? SpecialTokens[id - Pad] : $"<0x{id:X2}>";
    }

    /// <summary>Writes a <c>tokenizer_config.json</c> that <see cref="TokenizerLoader.FromDirectory"/> recognises as this tokenizer
    /// (with a ChatML <c>chat_template</c>), atomically.</summary>
    /// <param name="directory">The model directory.</param>
    public static void Save(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        const string ChatMl =
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("tokenizer_class", TokenizerClassName);
            w.WriteString("bos_token", "<s>");
            w.WriteString("eos_token", "</s>");
            w.WriteString("pad_token", "<pad>");
            w.WriteBoolean("add_bos_token", true);
            w.WriteString("chat_template", ChatMl);
            w.WriteEndObject();
        }

        string json = Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
        IO.AtomicFile.WriteAllText(Path.Combine(directory, TokenizerConfig.FileName), json);
    }

    private static void AppendBytes(List<int> ids, ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        Span<byte> buffer = text.Length <= 256 ? stackalloc byte[Encoding.UTF8.GetMaxByteCount(text.Length)] : new byte[Encoding.UTF8.GetMaxByteCount(text.Length)];
        int n = Encoding.UTF8.GetBytes(text, buffer);
        foreach (byte b in buffer[..n])
        {
            ids.Add(b);
        }
    }
}
