namespace MoR.IO;

/// <summary>
/// The weights of a checkpoint, whether one <c>model.safetensors</c> or shards listed by
/// <c>model.safetensors.index.json</c>: one name → tensor lookup over all files, each mapped once.
/// </summary>
public sealed class CheckpointReader : IDisposable
{
    /// <summary>The single-file name Hugging Face uses.</summary>
    public const string SingleFileName = "model.safetensors";

    private readonly List<SafeTensorsReader> _readers;
    private readonly Dictionary<string, (SafeTensorsReader Reader, TensorInfo Info)> _tensors;

    private CheckpointReader(string location, List<SafeTensorsReader> readers, Dictionary<string, (SafeTensorsReader, TensorInfo)> tensors, IReadOnlyDictionary<string, string> metadata, ShardedCheckpointIndex? index)
    {
        Location = location;
        _readers = readers;
        _tensors = tensors;
        Metadata = metadata;
        Index = index;
    }

    /// <summary>The file or index the checkpoint was opened from.</summary>
    public string Location { get; }

    /// <summary>The index, for a sharded checkpoint; otherwise <see langword="null"/>.</summary>
    public ShardedCheckpointIndex? Index { get; }

    /// <summary>The index's <c>metadata</c> (sharded) or the file's <c>__metadata__</c> (single file).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The mapped files, one per shard.</summary>
    public IReadOnlyList<SafeTensorsReader> Files => _readers;

    /// <summary>Every tensor name, sorted ordinally.</summary>
    public IReadOnlyList<string> TensorNames => [.. _tensors.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Number of tensors.</summary>
    public int Count => _tensors.Count;

    /// <summary>
    /// Opens a checkpoint. <paramref name="path"/> may be a directory (holding <c>model.safetensors</c>, or
    /// else <c>model.safetensors.index.json</c>: the order Hugging Face tries them), a <c>.safetensors</c>
    /// file, or an index file.
    /// </summary>
    /// <param name="path">Directory or file.</param>
    /// <returns>The reader; dispose it to unmap every file.</returns>
    /// <exception cref="FileNotFoundException">The directory holds neither file.</exception>
    /// <exception cref="SafeTensorsFormatException">A file or the index breaks a rule.</exception>
    public static CheckpointReader Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            string single = Path.Combine(path, SingleFileName);
            string index = Path.Combine(path, ShardedCheckpointIndex.FileName);
            if (File.Exists(single))
            {
                return OpenFile(single);
            }

            if (File.Exists(index))
            {
                return OpenIndex(index);
            }

            throw new FileNotFoundException(
                $"'{path}' holds neither {SingleFileName} nor {ShardedCheckpointIndex.FileName}.", single);
        }

        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? OpenIndex(path) : OpenFile(path);
    }

    /// <summary>Whether the checkpoint has a tensor of this name.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns><see langword="true"/> if present.</returns>
    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>Looks a tensor up by name.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="info">Its header entry.</param>
    /// <returns><see langword="true"/> if present.</returns>
    public bool TryGetInfo(string name, out TensorInfo info)
    {
        bool found = _tensors.TryGetValue(name, out var entry);
        info = entry.Info;
        return found;
    }

    /// <summary>The header entry of a tensor.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>Its entry.</returns>
    /// <exception cref="KeyNotFoundException">No such tensor; the message names the checkpoint.</exception>
    public TensorInfo GetInfo(string name) => Find(name).Info;

    /// <summary>The file that holds a tensor.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>Its shard's reader.</returns>
    public SafeTensorsReader GetFile(string name) => Find(name).Reader;

    /// <summary>The tensor's bytes, in place in the mapped file.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>A view valid until this reader is disposed.</returns>
    public ReadOnlySpan<byte> GetBytes(string name)
    {
        var (reader, info) = Find(name);
        return reader.GetBytes(info);
    }

    /// <summary>The tensor's elements, in place, reinterpreted as <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">An element type of the dtype's size.</typeparam>
    /// <param name="name">The tensor name.</param>
    /// <returns>A view valid until this reader is disposed.</returns>
    public ReadOnlySpan<T> GetSpan<T>(string name)
        where T : unmanaged => Find(name).Reader.GetSpan<T>(name);

    /// <summary>Address of the tensor's first byte in the mapping.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>A pointer valid until this reader is disposed.</returns>
    public unsafe byte* GetPointer(string name)
    {
        var (reader, info) = Find(name);
        return reader.GetPointer(info);
    }

    /// <summary>Throws when the tensor holds a NaN or an infinity (see <see cref="SafeTensorsReader.EnsureFinite"/>).</summary>
    /// <param name="name">The tensor name.</param>
    /// <exception cref="NonFiniteTensorException">The first non-finite element, with the file and tensor.</exception>
    public void EnsureFinite(string name)
    {
        var (reader, info) = Find(name);
        reader.EnsureFinite(info);
    }

    /// <summary>Copies a tensor into a new device tensor.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="device">Where to allocate it.</param>
    /// <returns>A tensor the caller owns.</returns>
    public Tensor ReadTensor(string name, Device device) => Find(name).Reader.ReadTensor(name, device);

    /// <summary>Unmaps every file.</summary>
    public void Dispose()
    {
        foreach (SafeTensorsReader reader in _readers)
        {
            reader.Dispose();
        }
    }

    private (SafeTensorsReader Reader, TensorInfo Info) Find(string name) =>
        _tensors.TryGetValue(name, out var entry)
            ? entry
            : throw new KeyNotFoundException($"Checkpoint '{Location}' has no tensor named '{name}'.");

    private static CheckpointReader OpenFile(string file)
    {
        SafeTensorsReader reader = SafeTensorsReader.Open(file);
        var tensors = new Dictionary<string, (SafeTensorsReader, TensorInfo)>(StringComparer.Ordinal);
        foreach (TensorInfo t in reader.Tensors)
        {
            tensors.Add(t.Name, (reader, t));
        }

        return new CheckpointReader(file, [reader], tensors, reader.Metadata, null);
    }

    private static CheckpointReader OpenIndex(string indexPath)
    {
        ShardedCheckpointIndex index = ShardedCheckpointIndex.Load(indexPath);
        string directory = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var readers = new List<SafeTensorsReader>();
        try
        {
            var tensors = new Dictionary<string, (SafeTensorsReader, TensorInfo)>(StringComparer.Ordinal);
            foreach (string shard in index.ShardFiles)
            {
                string shardPath = Path.Combine(directory, shard);
                if (!File.Exists(shardPath))
                {
                    string first = index.WeightMap.First(kv => kv.Value == shard).Key;
                    throw new SafeTensorsFormatException(indexPath, first, SafeTensorsViolation.ShardMissing, $"the index puts the tensor in shard '{shard}', which does not exist at '{shardPath}'");
                }

                readers.Add(SafeTensorsReader.Open(shardPath));
            }

            // Duplicates first: a tensor in two shards is the root cause even when the index also disagrees.
            foreach (SafeTensorsReader reader in readers)
            {
                string shard = Path.GetFileName(reader.FilePath);
                foreach (TensorInfo t in reader.Tensors)
                {
                    if (!tensors.TryAdd(t.Name, (reader, t)))
                    {
                        throw new SafeTensorsFormatException(indexPath, t.Name, SafeTensorsViolation.TensorInMultipleShards, $"the tensor is present in both '{Path.GetFileName(tensors[t.Name].Item1.FilePath)}' and '{shard}'");
                    }
                }
            }

            foreach ((string name, (SafeTensorsReader reader, _)) in tensors)
            {
                string shard = Path.GetFileName(reader.FilePath);
                if (!index.WeightMap.TryGetValue(name, out string? listed) || listed != shard)
                {
                    string where = listed is null ? "does not list it" : $"lists it in '{listed}'";
                    throw new SafeTensorsFormatException(indexPath, name, SafeTensorsViolation.TensorNotInIndex, $"shard '{shard}' holds the tensor but the index {where}");
                }
            }

            foreach ((string name, string shard) in index.WeightMap)
            {
                if (!tensors.ContainsKey(name))
                {
                    throw new SafeTensorsFormatException(indexPath, name, SafeTensorsViolation.TensorMissingFromShard, $"the index lists the tensor in shard '{shard}', which does not contain it");
                }
            }

            return new CheckpointReader(indexPath, readers, tensors, index.Metadata, index);
        }
        catch
        {
            foreach (SafeTensorsReader reader in readers)
            {
                reader.Dispose();
            }

            throw;
        }
    }
}
