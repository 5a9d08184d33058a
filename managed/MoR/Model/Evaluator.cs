using System.Text.Json;
using MoR.Data;
using MoR.IO;
using MoR.Tokenization;

namespace MoR.Model;

/// <summary>
/// Scores a JSONL data set with a model: mean next-token NLL and perplexity. Each line is either
/// <c>{"input_ids": [...], "labels": [...]}</c> (Hugging Face causal-LM convention: labels are aligned
/// with input_ids and shifted here, -100 masks a position; labels default to input_ids) or
/// <c>{"text": "..."}</c> (tokenised with BOS prepended, every token scored). Blank lines are skipped.
/// </summary>
public static class Evaluator
{
    /// <summary>Evaluates every line of a JSONL file.</summary>
    /// <param name="model">The model (with any adapters attached).</param>
    /// <param name="path">The file.</param>
    /// <param name="tokenizer">Needed for <c>text</c> lines.</param>
    /// <param name="maxLength">Sequences longer than this are truncated (null: no limit).</param>
    /// <param name="cancellationToken">Checked between lines.</param>
    /// <returns>The totals.</returns>
    /// <exception cref="FormatException">A line is malformed (the message gives its number), or no line has a scored token.</exception>
    public static EvaluationResult EvaluateJsonl(
        LlamaModel model, string path, ITextTokenizer? tokenizer = null, int? maxLength = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Evaluate(model, File.ReadLines(path), tokenizer, maxLength, path, cancellationToken);
    }

    /// <summary>Evaluates JSONL lines.</summary>
    /// <param name="model">The model.</param>
    /// <param name="lines">The lines.</param>
    /// <param name="tokenizer">Needed for <c>text</c> lines.</param>
    /// <param name="maxLength">Sequences longer than this are truncated (null: no limit).</param>
    /// <param name="source">Names the data in error messages.</param>
    /// <param name="cancellationToken">Checked between lines.</param>
    /// <returns>The totals.</returns>
    /// <exception cref="FormatException">A line is malformed (the message gives its number), or no line has a scored token.</exception>
    public static EvaluationResult Evaluate(
        LlamaModel model, IEnumerable<string> lines, ITextTokenizer? tokenizer = null, int? maxLength = null, string source = "input",
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(lines);
        var total = new LossResult(0, 0);
        long sequences = 0;
        int number = 0;
        foreach (string line in lines)
        {
            number++;
            cancellationToken.ThrowIfCancellationRequested();
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            (int[] ids, int[] labels) = Parse(line, tokenizer, model.Config.VocabSize, source, number);
            if (maxLength is int max && ids.Length > max)
            {
                ids = ids[..max];
                labels = labels[..max];
            }

            sequences++;
            if (ids.Length < 2)
            {
                continue; // nothing to predict
            }

            total += model.Evaluate(new TokenBatch(1, ids.Length, ids, ShiftedTargets(labels)));
        }

        if (total.Tokens == 0)
        {
            // A mean over no tokens is NaN: say why instead of printing it.
            throw new FormatException(sequences == 0
                ? $"{source}: no records: there is nothing to evaluate."
                : $"{source}: none of its {sequences} records has a scored token (every label is -100, or every sequence is shorter than 2 tokens): there is nothing to evaluate.");
        }

        return new EvaluationResult(sequences, total.Tokens, total.Mean);
    }

    /// <summary>HF shifts inside the model: position t predicts labels[t + 1]; the last position predicts nothing.</summary>
    internal static int[] ShiftedTargets(int[] labels)
    {
        int[] targets = new int[labels.Length];
        for (int t = 0; t < labels.Length; t++)
        {
            targets[t] = t + 1 < labels.Length ? labels[t + 1] : TokenBatch.IgnoreIndex;
        }

        return targets;
    }

    /// <summary>One JSONL line's (input_ids, labels); a line that is not one names its source and number.</summary>
    internal static (int[] Ids, int[] Labels) Parse(string line, ITextTokenizer? tokenizer, int vocab, string source, int number)
    {
        FormatException Error(string detail) => new($"{source} line {number}: {detail}");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line, RecordShape.ParseOptions);
        }
        catch (JsonException e)
        {
            throw Error($"not valid JSON at byte {e.BytePositionInLine + 1}: {JsonFile.Clean(e.Message)}");
        }

        using (doc)
        {
            JsonElement root = doc.RootElement;
            try
            {
                RecordShape.Check(line, root);
            }
            catch (FormatException e)
            {
                throw Error(e.Message.TrimEnd('.'));
            }

            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Error("expected a JSON object");
            }

            if (root.TryGetProperty("input_ids", out JsonElement idsElement))
            {
                int[] ids = IntArray(idsElement, "input_ids", allowIgnore: false);
                int[] labels = root.TryGetProperty("labels", out JsonElement l) ? IntArray(l, "labels", allowIgnore: true) : ids;
                if (labels.Length != ids.Length)
                {
                    throw Error($"labels has {labels.Length} entries but input_ids has {ids.Length}");
                }

                return (ids, labels);
            }

            if (root.TryGetProperty("text", out JsonElement text))
            {
                if (text.ValueKind != JsonValueKind.String)
                {
                    throw Error("\"text\" must be a string");
                }

                if (tokenizer is null)
                {
                    throw Error("a \"text\" line needs a tokenizer");
                }

                int[] ids = tokenizer.Encode(text.GetString()!, addBos: true);
                return (ids, ids);
            }

            throw Error("expected \"input_ids\" (with optional \"labels\") or \"text\"");
        }

        int[] IntArray(JsonElement e, string name, bool allowIgnore)
        {
            if (e.ValueKind != JsonValueKind.Array)
            {
                throw Error($"\"{name}\" must be an array of integers");
            }

            int[] values = new int[e.GetArrayLength()];
            int i = 0;
            foreach (JsonElement v in e.EnumerateArray())
            {
                if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int id))
                {
                    throw Error($"\"{name}\"[{i}] is not an integer");
                }

                if (!(allowIgnore && id == TokenBatch.IgnoreIndex) && (id < 0 || id >= vocab))
                {
                    throw Error($"\"{name}\"[{i}] = {id} is outside the vocabulary [0, {vocab})");
                }

                values[i++] = id;
            }

            return values;
        }
    }
}
