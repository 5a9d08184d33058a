using System.Text.Json;
using MoR.Tokenization;

namespace MoR.Data;

/// <summary>
/// Turns one JSONL record into a <see cref="TokenizedExample"/>. Accepted shapes (DESIGN.md §4):
/// <c>{"text"}</c> (loss on every token), <c>{"prompt","completion"}</c> (loss on the completion only
/// when <see cref="MaskPrompt"/>), <c>{"messages":[{"role","content"}]}</c> (chat template; loss on
/// assistant turns only when <see cref="MaskPrompt"/>) and pre-tokenised <c>{"input_ids"[, "labels"]}</c>.
/// </summary>
/// <param name="tokenizer">The model's tokenizer.</param>
/// <param name="chat">The chat format for <c>messages</c> records (the model's own template, or a built-in format); null rejects them.</param>
/// <param name="maskPrompt">Take no loss on prompts and non-assistant turns.</param>
/// <param name="vocabularySize">The model's vocabulary (ids and labels must lie below it); defaults to the tokenizer's.</param>
public sealed class ExampleEncoder(ITextTokenizer tokenizer, IChatFormat? chat, bool maskPrompt = true, int? vocabularySize = null)
{
    /// <summary>The tokenizer.</summary>
    public ITextTokenizer Tokenizer { get; } = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));

    /// <summary>Whether prompts and non-assistant turns are masked out of the loss.</summary>
    public bool MaskPrompt { get; } = maskPrompt;

    /// <summary>Every token id and label (other than <see cref="TokenizedExample.IgnoreIndex"/>) lies in [0, VocabularySize).</summary>
    public int VocabularySize { get; } = vocabularySize ?? tokenizer?.VocabSize ?? 0;

    /// <summary>Encodes plain text: BOS + text + EOS, loss on everything after BOS.</summary>
    public TokenizedExample EncodeText(string text)
    {
        int[] body = Tokenizer.Encode(text, addBos: true);
        int[] ids = [.. body, Tokenizer.EosId];
        return new TokenizedExample(ids, LabelsFrom(ids, trainedFrom: Tokenizer.BosId is null ? 0 : 1));
    }

    /// <summary>Encodes BOS + prompt + completion + EOS; the prompt takes no loss when <see cref="MaskPrompt"/>.</summary>
    public TokenizedExample EncodePromptCompletion(string prompt, string completion)
    {
        int[] p = Tokenizer.Encode(prompt, addBos: true);
        int[] c = Tokenizer.Encode(completion, addBos: false);
        int[] ids = [.. p, .. c, Tokenizer.EosId];
        int trainedFrom = MaskPrompt ? p.Length : (Tokenizer.BosId is null ? 0 : 1);
        return new TokenizedExample(ids, LabelsFrom(ids, trainedFrom));
    }

    /// <summary>Encodes a conversation with the chat template; only assistant tokens take a loss when <see cref="MaskPrompt"/>.</summary>
    public TokenizedExample EncodeChat(IReadOnlyList<ChatTurn> messages)
    {
        if (chat is null)
        {
            throw new InvalidOperationException("This tokenizer has no chat template, so \"messages\" records cannot be used.");
        }

        ChatEncoding encoding = chat.EncodeForTraining(Tokenizer, messages);
        int[] labels = new int[encoding.Ids.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = !MaskPrompt || encoding.IsAssistant[i] ? encoding.Ids[i] : TokenizedExample.IgnoreIndex;
        }

        if (MaskPrompt && !encoding.IsAssistant.Contains(true))
        {
            // Only assistant tokens take a loss: this conversation would train on nothing.
            throw new FormatException(messages.Any(m => m.Role == "assistant")
                ? "the conversation's assistant turns are empty, so no token takes a loss."
                : "the conversation has no assistant turn, so no token takes a loss (add one, or train on every turn with --train-on-prompt).");
        }

        return new TokenizedExample(encoding.Ids, labels);
    }

    /// <summary>Encodes one parsed JSON record; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public TokenizedExample Encode(JsonElement record) => Encode(record.GetRawText(), record);

    /// <summary>Encodes one JSONL line, already parsed as <paramref name="record"/>; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public TokenizedExample Encode(string line, JsonElement record)
    {
        RecordShape.Check(line, record);
        TokenizedExample example = EncodeRecord(record);
        CheckVocabulary(example);
        return example;
    }

    // Ids from the file and ids from the tokenizer alike: a tokenizer with added tokens can outgrow the model's embedding.
    private void CheckVocabulary(TokenizedExample example)
    {
        for (int i = 0; i < example.Ids.Length; i++)
        {
            if ((uint)example.Ids[i] >= (uint)VocabularySize)
            {
                throw new FormatException($"token id {example.Ids[i]} (position {i}) is outside the vocabulary [0, {VocabularySize}) of the model.");
            }

            int label = example.Labels[i];
            if (label != TokenizedExample.IgnoreIndex && (uint)label >= (uint)VocabularySize)
            {
                throw new FormatException($"label {label} (position {i}) is outside the vocabulary [0, {VocabularySize}) of the model and is not {TokenizedExample.IgnoreIndex}.");
            }
        }
    }

    private TokenizedExample EncodeRecord(JsonElement record)
    {
        if (record.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"expected a JSON object, found {record.ValueKind}.");
        }

        if (record.TryGetProperty("input_ids", out JsonElement inputIds))
        {
            int[] ids = ReadIds(inputIds, "input_ids");
            int[] labels = record.TryGetProperty("labels", out JsonElement l) ? ReadIds(l, "labels") : (int[])ids.Clone();
            if (labels.Length != ids.Length)
            {
                throw new FormatException($"\"labels\" has {labels.Length} entries but \"input_ids\" has {ids.Length}.");
            }

            return new TokenizedExample(ids, labels);
        }

        if (record.TryGetProperty("labels", out _))
        {
            throw new FormatException("\"labels\" needs \"input_ids\".");
        }

        if (record.TryGetProperty("messages", out JsonElement messages))
        {
            return EncodeChat(ReadMessages(messages));
        }

        if (record.TryGetProperty("prompt", out JsonElement prompt))
        {
            if (!record.TryGetProperty("completion", out JsonElement completion))
            {
                throw new FormatException("a \"prompt\" record needs a \"completion\".");
            }

            return EncodePromptCompletion(ReadString(prompt, "prompt"), ReadString(completion, "completion"));
        }

        if (record.TryGetProperty("text", out JsonElement text))
        {
            return EncodeText(ReadString(text, "text"));
        }

        throw new FormatException("expected one of \"text\", \"prompt\"+\"completion\", \"messages\" or \"input_ids\".");
    }

    private static int[] LabelsFrom(int[] ids, int trainedFrom)
    {
        int[] labels = new int[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            labels[i] = i >= trainedFrom ? ids[i] : TokenizedExample.IgnoreIndex;
        }

        return labels;
    }

    private static string ReadString(JsonElement e, string field) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new FormatException($"\"{field}\" must be a string, found {e.ValueKind}.");

    private static int[] ReadIds(JsonElement e, string field)
    {
        if (e.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"\"{field}\" must be an array of integers.");
        }

        int[] ids = new int[e.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in e.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out ids[i]))
            {
                throw new FormatException($"\"{field}\"[{i}] is not a 32-bit integer.");
            }

            i++;
        }

        return ids;
    }

    private static List<ChatTurn> ReadMessages(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("\"messages\" must be an array of {\"role\", \"content\"} objects.");
        }

        var turns = new List<ChatTurn>();
        int i = 0;
        foreach (JsonElement m in e.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object ||
                !m.TryGetProperty("role", out JsonElement role) || role.ValueKind != JsonValueKind.String ||
                !m.TryGetProperty("content", out JsonElement content) || content.ValueKind != JsonValueKind.String)
            {
                throw new FormatException($"\"messages\"[{i}] needs string \"role\" and \"content\".");
            }

            turns.Add(new ChatTurn(role.GetString()!, content.GetString()!));
            i++;
        }

        if (turns.Count == 0)
        {
            throw new FormatException("\"messages\" is empty.");
        }

        return turns;
    }
}
