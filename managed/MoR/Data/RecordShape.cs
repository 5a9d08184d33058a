using System.Text.Json;
using MoR.IO;

namespace MoR.Data;

/// <summary>
/// The structural rules every JSONL record obeys before its fields are read (training data and <c>mor eval</c>
/// data alike): no key appears twice, and the record is of exactly one kind — <c>text</c>, <c>prompt</c> +
/// <c>completion</c>, <c>messages</c>, or <c>input_ids</c> (+ <c>labels</c>). A mixed record would otherwise be
/// read as whichever kind is checked first, silently dropping the rest. Other keys (ids, sources) are allowed.
/// </summary>
internal static class RecordShape
{
    private static readonly (string Kind, string[] Keys)[] Kinds =
    [
        ("\"input_ids\"", ["input_ids", "labels"]),
        ("\"messages\"", ["messages"]),
        ("\"prompt\"+\"completion\"", ["prompt", "completion"]),
        ("\"text\"", ["text"]),
    ];

    /// <summary>Parser options for one record: strict JSON (repeated keys are found by <see cref="Check"/>, which names them).</summary>
    public static JsonDocumentOptions ParseOptions => new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = 64,
    };

    /// <summary>Throws <see cref="FormatException"/> when <paramref name="record"/> holds a string that is not text, repeats a key or mixes kinds.</summary>
    /// <param name="line">The record's text (it parsed as <paramref name="record"/>).</param>
    /// <param name="record">A parsed record (any JSON value; non-objects are left to the reader).</param>
    public static void Check(string line, JsonElement record)
    {
        // The parser accepts an unpaired surrogate escape ("\ud800") that no reader can decode: refuse it first.
        if (JsonFile.Scan(System.Text.Encoding.UTF8.GetBytes(line), allowDuplicateKeys: true) is { } bad)
        {
            throw new FormatException($"{bad.Detail} (byte {bad.Position}).");
        }

        if (JsonDuplicateKeys.Find(record) is string duplicate)
        {
            throw new FormatException($"key \"{duplicate}\" appears twice.");
        }

        if (record.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        var present = new List<(string Kind, string Key)>();
        foreach ((string kind, string[] keys) in Kinds)
        {
            foreach (string key in keys)
            {
                if (record.TryGetProperty(key, out _))
                {
                    present.Add((kind, key));
                    break;
                }
            }
        }

        if (present.Count > 1)
        {
            throw new FormatException(
                $"the record mixes kinds: it has both \"{present[0].Key}\" and \"{present[1].Key}\"; give exactly one of \"text\", \"prompt\"+\"completion\", \"messages\" or \"input_ids\" (+\"labels\").");
        }
    }
}
