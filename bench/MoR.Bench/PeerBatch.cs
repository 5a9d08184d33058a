using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// Token sequences for the peer, in the convention of <c>mor eval</c> (Hugging Face causal LM): labels are
/// ALIGNED with input_ids (labels default to input_ids) and shifted inside, so position t is scored against
/// labels[t + 1] and the last position against nothing; -100 excludes a label. One file serves both stacks:
/// JSONL, one <c>{"input_ids":[...],"labels":[...]}</c> per line (exactly what <c>mor eval --data</c> reads),
/// or one JSON object <c>{"input_ids":[[...],...],"labels":[[...],...]}</c> with a row per sequence.
/// </summary>
internal sealed class PeerBatch
{
    private const int IgnoreIndex = -100;

    private PeerBatch(List<long[]> ids, List<long[]> labels)
    {
        InputIds = ids;
        Labels = labels;
    }

    public IReadOnlyList<long[]> InputIds { get; }

    public IReadOnlyList<long[]> Labels { get; }

    /// <summary>Reads a JSONL file or a single JSON object of rows.</summary>
    public static PeerBatch Read(string path)
    {
        var ids = new List<long[]>();
        var labels = new List<long[]>();
        string text = File.ReadAllText(path);
        string[] lines = [.. text.Split('\n').Where(l => !string.IsNullOrWhiteSpace(l))];
        bool rows = lines.Length > 0 && TryRows(text, ids, labels);
        for (int i = 0; !rows && i < lines.Length; i++)
        {
            using JsonDocument line = JsonDocument.Parse(lines[i]);
            long[] lineIds = Ids(line.RootElement.GetProperty("input_ids"), $"{path} line {i + 1} input_ids");
            ids.Add(lineIds);
            labels.Add(line.RootElement.TryGetProperty("labels", out JsonElement l) ? Ids(l, $"{path} line {i + 1} labels") : lineIds);
        }

        for (int i = 0; i < ids.Count; i++)
        {
            if (ids[i].Length != labels[i].Length)
            {
                throw new FormatException($"{path}: sequence {i} has {ids[i].Length} input_ids but {labels[i].Length} labels.");
            }
        }

        return ids.Count > 0 ? new PeerBatch(ids, labels) : throw new FormatException($"{path} holds no sequence.");
    }

    /// <summary>Uniform random ids (labels = ids): for timing when no data file is given.</summary>
    public static PeerBatch Random(int batch, int seq, int vocab, long seed)
    {
        using var generator = new Generator((ulong)seed);
        using TTensor t = randint(0, vocab, [batch, seq], ScalarType.Int64, generator: generator);
        long[] all = t.data<long>().ToArray();
        List<long[]> rows = [.. Enumerable.Range(0, batch).Select(b => all[(b * seq)..((b + 1) * seq)])];
        return new PeerBatch(rows, rows);
    }

    /// <summary>The first <paramref name="batch"/> sequences cut to <paramref name="seq"/> tokens (all must be that long).</summary>
    public PeerBatch Take(int batch, int seq)
    {
        if (InputIds.Count < batch || InputIds.Take(batch).Any(r => r.Length < seq))
        {
            throw new ArgumentException($"--batch {batch} --seq {seq} needs {batch} sequences of at least {seq} tokens; the file has {InputIds.Count} (shortest {InputIds.Min(r => r.Length)}).");
        }

        return new PeerBatch([.. InputIds.Take(batch).Select(r => r[..seq])], [.. Labels.Take(batch).Select(r => r[..seq])]);
    }

    /// <summary>Rows <paramref name="first"/>.. as ids [B, T] and shifted targets [B, T] (int64); the rows must be equally long.</summary>
    public (TTensor Ids, TTensor Targets) ToTensors(int first = 0, int count = -1)
    {
        count = count < 0 ? InputIds.Count - first : count;
        int t = InputIds[first].Length;
        long[] ids = new long[(long)count * t], targets = new long[(long)count * t];
        for (int b = 0; b < count; b++)
        {
            long[] row = InputIds[first + b], labels = Labels[first + b];
            if (row.Length != t)
            {
                throw new ArgumentException($"Sequences {first} and {first + b} differ in length ({t} and {row.Length}); a batch needs equal lengths.");
            }

            row.CopyTo(ids, (long)b * t);
            for (int i = 0; i < t; i++)
            {
                targets[((long)b * t) + i] = i + 1 < t ? labels[i + 1] : IgnoreIndex;
            }
        }

        return (tensor(ids, [count, t]), tensor(targets, [count, t]));
    }

    private static bool TryRows(string text, List<long[]> ids, List<long[]> labels)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            return false;  // several JSON values: JSONL
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (!root.TryGetProperty("input_ids", out JsonElement rows) || rows.GetArrayLength() == 0 || rows[0].ValueKind != JsonValueKind.Array)
            {
                return false;  // one JSONL line
            }

            bool hasLabels = root.TryGetProperty("labels", out JsonElement labelRows);
            for (int i = 0; i < rows.GetArrayLength(); i++)
            {
                long[] row = Ids(rows[i], $"input_ids[{i}]");
                ids.Add(row);
                labels.Add(hasLabels ? Ids(labelRows[i], $"labels[{i}]") : row);
            }

            return true;
        }
    }

    private static long[] Ids(JsonElement array, string what) =>
        array.ValueKind == JsonValueKind.Array
            ? [.. array.EnumerateArray().Select(e => e.GetInt64())]
            : throw new FormatException($"{what} is not an array of integers.");
}
