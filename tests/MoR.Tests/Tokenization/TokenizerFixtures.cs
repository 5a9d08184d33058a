using System.Text;
using System.Text.Json.Nodes;

namespace MoR.Tests.Tokenization;

/// <summary>
/// Tiny hand-made tokenizer files: a byte-level BPE tokenizer.json in LLaMA 3's layout, and a SentencePiece
/// BPE tokenizer.model written with a minimal protobuf encoder (ModelProto: pieces, trainer_spec, normalizer_spec).
/// </summary>
public static class TokenizerFixtures
{
    /// <summary>LLaMA 3's pre-tokenizer split pattern.</summary>
    public const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Merges in rank order; merged token i gets id 256 + i.</summary>
    public static readonly string[] BpeMerges = ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "Ġwor l", "Ġworl d"];

    /// <summary>Added (special) tokens of the BPE fixture and their ids.</summary>
    public static readonly (string Content, int Id)[] BpeSpecials =
    [
        ("<|begin_of_text|>", 300), ("<|end_of_text|>", 301), ("<|eot_id|>", 302), ("<|start_header_id|>", 303), ("<|end_header_id|>", 304),
    ];

    /// <summary>GPT-2's bytes_to_unicode: the printable character each byte is written as in a byte-level vocabulary.</summary>
    public static char[] ByteToUnicode()
    {
        var map = new char[256];
        var direct = new List<int>();
        for (int b = '!'; b <= '~'; b++)
        {
            direct.Add(b);
        }

        for (int b = 0xA1; b <= 0xAC; b++)
        {
            direct.Add(b);
        }

        for (int b = 0xAE; b <= 0xFF; b++)
        {
            direct.Add(b);
        }

        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            map[b] = direct.Contains(b) ? (char)b : (char)(256 + next++);
        }

        return map;
    }

    /// <summary>Writes tokenizer.json (+ tokenizer_config.json) of a LLaMA-3-style byte-level BPE tokenizer.</summary>
    public static void WriteByteLevelBpe(string directory, bool mergesAsArrays = false, bool writeConfig = true)
    {
        char[] b2u = ByteToUnicode();
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++)
        {
            vocab[b2u[b].ToString()] = b;
        }

        for (int i = 0; i < BpeMerges.Length; i++)
        {
            vocab[BpeMerges[i].Replace(" ", string.Empty, StringComparison.Ordinal)] = 256 + i;
        }

        var merges = new JsonArray();
        foreach (string m in BpeMerges)
        {
            string[] pair = m.Split(' ');
            merges.Add(mergesAsArrays ? new JsonArray(pair[0], pair[1]) : JsonValue.Create(m));
        }

        var added = new JsonArray();
        foreach ((string content, int id) in BpeSpecials)
        {
            added.Add(new JsonObject { ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true });
        }

        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = Llama3Pattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = true,
                ["vocab"] = vocab,
                ["merges"] = merges,
            },
        };
        File.WriteAllText(Path.Combine(directory, "tokenizer.json"), root.ToJsonString());
        if (writeConfig)
        {
            const string Template = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
            var config = new JsonObject
            {
                ["bos_token"] = "<|begin_of_text|>",
                ["eos_token"] = "<|eot_id|>",
                ["chat_template"] = Template,
                ["tokenizer_class"] = "PreTrainedTokenizerFast",
            };
            File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), config.ToJsonString());
        }
    }

    /// <summary>Pieces after the 3 controls and 256 byte pieces: id 259 + index, score −index (earlier merges win).</summary>
    public static readonly string[] SentencePieces =
        ["▁", "h", "e", "l", "o", "w", "r", "d", "he", "ll", "hell", "hello", "▁hello", "▁w", "or", "▁wor", "▁worl", "▁world"];

    /// <summary>Id of a normal piece of the SentencePiece fixture.</summary>
    public static int PieceId(string piece) => 259 + Array.IndexOf(SentencePieces, piece);

    /// <summary>Writes a SentencePiece BPE model: &lt;unk&gt;=0, &lt;s&gt;=1, &lt;/s&gt;=2, &lt;0x00&gt;..&lt;0xFF&gt; = 3..258, then <see cref="SentencePieces"/>; byte fallback on.</summary>
    public static void WriteSentencePieceModel(string path)
    {
        var model = new ProtoWriter();
        var pieces = new List<(string Piece, float Score, int Type)> { ("<unk>", 0, 2), ("<s>", 0, 3), ("</s>", 0, 3) };
        for (int b = 0; b < 256; b++)
        {
            pieces.Add(($"<0x{b:X2}>", 0, 6)); // BYTE
        }

        for (int i = 0; i < SentencePieces.Length; i++)
        {
            pieces.Add((SentencePieces[i], -i, 1)); // NORMAL
        }

        foreach ((string piece, float score, int type) in pieces)
        {
            var p = new ProtoWriter();
            p.String(1, piece);
            p.Float(2, score);
            p.Varint(3, type);
            model.Message(1, p);
        }

        var trainer = new ProtoWriter();
        trainer.Varint(3, 2); // model_type = BPE
        trainer.Varint(4, pieces.Count); // vocab_size
        trainer.Varint(35, 1); // byte_fallback
        trainer.Varint(40, 0); // unk_id
        trainer.Varint(41, 1); // bos_id
        trainer.Varint(42, 2); // eos_id
        trainer.Varint(43, -1); // pad_id
        model.Message(2, trainer);

        var normalizer = new ProtoWriter();
        normalizer.String(1, "identity");
        normalizer.Varint(3, 1); // add_dummy_prefix
        normalizer.Varint(4, 0); // remove_extra_whitespaces (LLaMA: false)
        normalizer.Varint(5, 1); // escape_whitespaces
        model.Message(3, normalizer);
        File.WriteAllBytes(path, model.ToArray());
    }

    /// <summary>The protobuf wire format, just enough of it: varints, length-delimited fields, fixed32 floats.</summary>
    private sealed class ProtoWriter
    {
        private readonly MemoryStream _stream = new();

        public void Varint(int field, long value)
        {
            Tag(field, 0);
            WriteVarint((ulong)value);
        }

        public void Float(int field, float value)
        {
            Tag(field, 5);
            _stream.Write(BitConverter.GetBytes(value));
        }

        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public void Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

        public byte[] ToArray() => _stream.ToArray();

        private void Bytes(int field, byte[] value)
        {
            Tag(field, 2);
            WriteVarint((ulong)value.Length);
            _stream.Write(value);
        }

        private void Tag(int field, int wireType) => WriteVarint((ulong)((field << 3) | wireType));

        private void WriteVarint(ulong value)
        {
            while (value >= 0x80)
            {
                _stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            _stream.WriteByte((byte)value);
        }
    }
}
