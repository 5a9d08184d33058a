using System.Text.Json;

namespace MoR.IO;

/// <summary>
/// A Hugging Face <c>model.safetensors.index.json</c>: <c>{"metadata": {...}, "weight_map": {tensor: shard file}}</c>.
/// Parsing checks the file's own shape; <see cref="CheckpointReader"/> checks it against the shards.
/// </summary>
public sealed class ShardedCheckpointIndex
{
    /// <summary>The file name Hugging Face uses.</summary>
    public const string FileName = "model.safetensors.index.json";

    private ShardedCheckpointIndex(string path, IReadOnlyDictionary<string, string> metadata, IReadOnlyDictionary<string, string> weightMap, IReadOnlyList<string> shards)
    {
        FilePath = path;
        Metadata = metadata;
        WeightMap = weightMap;
        ShardFiles = shards;
    }

    /// <summary>The index file.</summary>
    public string FilePath { get; }

    /// <summary>The <c>metadata</c> object, values as text (numbers such as <c>total_size</c> in their JSON form).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensor name → shard file name (relative to the index's directory).</summary>
    public IReadOnlyDictionary<string, string> WeightMap { get; }

    /// <summary>Distinct shard file names in order of first mention.</summary>
    public IReadOnlyList<string> ShardFiles { get; }

    /// <summary>Reads and validates an index file.</summary>
    /// <param name="path">The index file.</param>
    /// <returns>The parsed index.</returns>
    /// <exception cref="SafeTensorsFormatException">The index is malformed.</exception>
    public static ShardedCheckpointIndex Load(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, JsonDuplicateKeys.StrictOptions);
        }
        catch (JsonException e)
        {
            throw new SafeTensorsFormatException(path, null, SafeTensorsViolation.InvalidJson, $"the index is not valid JSON ({e.Message})", e);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(path, $"the index's top-level value is {root.ValueKind}, not an object");
            }

            if (JsonDuplicateKeys.Find(root) is string duplicate)
            {
                throw new SafeTensorsFormatException(path, null, SafeTensorsViolation.DuplicateKey, $"the index names '{duplicate}' twice");
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("metadata", out JsonElement meta) && meta.ValueKind != JsonValueKind.Null)
            {
                if (meta.ValueKind != JsonValueKind.Object)
                {
                    throw Invalid(path, $"'metadata' is {meta.ValueKind}, not an object");
                }

                foreach (JsonProperty p in meta.EnumerateObject())
                {
                    metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
                }
            }

            if (!root.TryGetProperty("weight_map", out JsonElement map) || map.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(path, "the index has no 'weight_map' object");
            }

            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            var shards = new List<string>();
            var shardSet = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonProperty p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                {
                    throw new SafeTensorsFormatException(path, p.Name, SafeTensorsViolation.InvalidIndex, $"weight_map value is {p.Value.ValueKind}, not a file name");
                }

                string shard = p.Value.GetString()!;

                // Shards live beside the index: a path that leaves the directory is refused, not followed.
                if (shard.Length == 0 || shard != Path.GetFileName(shard) || shard is "." or ".." || shard.Contains('\\', StringComparison.Ordinal))
                {
                    throw new SafeTensorsFormatException(path, p.Name, SafeTensorsViolation.InvalidIndex, $"weight_map names shard '{shard}', which is not a plain file name in the index's directory");
                }

                weightMap[p.Name] = shard;
                if (shardSet.Add(shard))
                {
                    shards.Add(shard);
                }
            }

            return new ShardedCheckpointIndex(path, metadata, weightMap, shards);
        }
    }

    private static SafeTensorsFormatException Invalid(string path, string detail) =>
        new(path, null, SafeTensorsViolation.InvalidIndex, detail);
}
