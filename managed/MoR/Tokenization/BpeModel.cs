using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace MoR.Tokenization;

/// <summary>
/// The <c>model</c> of a BPE <c>tokenizer.json</c>: turns one pre-tokenized piece into vocabulary ids by applying
/// merges lowest rank first (leftmost first among equal ranks), with <c>byte_fallback</c> (pieces the vocabulary
/// lacks become <c>&lt;0xNN&gt;</c> byte tokens), <c>ignore_merges</c> (a piece that is itself in the vocabulary is
/// emitted whole, as LLaMA 3 does), <c>unk_token</c> and <c>fuse_unk</c>.
/// </summary>
internal sealed class BpeModel
{
    private const int MaxCachedPieceLength = 256;
    private const int MaxCacheEntries = 100_000;

    private readonly Dictionary<string, int> _tokenToId;
    private readonly List<string> _symbols = [];
    private readonly Dictionary<string, int> _symbolIds = new(StringComparer.Ordinal);
    private readonly Dictionary<int, int> _codePointSymbols = [];
    private readonly Dictionary<long, long> _merges = [];
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    private BpeModel(Dictionary<string, int> tokenToId)
    {
        _tokenToId = tokenToId;
    }

    /// <summary>Whether pieces the vocabulary lacks become byte tokens.</summary>
    public bool ByteFallback { get; private init; }

    /// <summary>Whether a piece found whole in the vocabulary skips the merges.</summary>
    public bool IgnoreMerges { get; private init; }

    /// <summary>Whether consecutive unknown tokens become one.</summary>
    public bool FuseUnknown { get; private init; }

    /// <summary>The unknown token's id, if the model has one.</summary>
    public int? UnknownId { get; private init; }

    /// <summary>Reads the <c>model</c> object.</summary>
    /// <param name="model">The JSON object.</param>
    /// <param name="tokenToId">The vocabulary with the added tokens laid over it (filled here from <c>model.vocab</c>;
    /// the caller adds the added tokens afterwards, as the reference does).</param>
    /// <param name="path">The file, for messages.</param>
    /// <returns>The model.</returns>
    /// <exception cref="UnsupportedTokenizerException">Not BPE, or an option this library does not implement.</exception>
    /// <exception cref="InvalidDataException">Malformed vocabulary or merges.</exception>
    public static BpeModel Parse(JsonElement model, Dictionary<string, int> tokenToId, string path)
    {
        string type = JsonFields.Type(model) ?? "BPE";
        if (type != "BPE")
        {
            throw new UnsupportedTokenizerException($"its model type is {type}; only BPE is supported");
        }

        if (JsonFields.Property(model, "dropout") is { ValueKind: JsonValueKind.Number } dropout && dropout.GetDouble() > 0)
        {
            throw new UnsupportedTokenizerException("its BPE model uses dropout");
        }

        foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (!string.IsNullOrEmpty(JsonFields.String(model, affix)))
            {
                throw new UnsupportedTokenizerException($"its BPE model sets {affix}");
            }
        }

        if (JsonFields.Property(model, "vocab") is not { ValueKind: JsonValueKind.Object } vocab)
        {
            throw new InvalidDataException($"'{path}': model.vocab is missing or not an object.");
        }

        foreach (JsonProperty p in vocab.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
            {
                throw new InvalidDataException($"'{path}': model.vocab entry '{p.Name}' is not a non-negative integer id.");
            }

            tokenToId[p.Name] = id;
        }

        string? unk = JsonFields.String(model, "unk_token");
        var result = new BpeModel(tokenToId)
        {
            ByteFallback = JsonFields.Bool(model, "byte_fallback"),
            IgnoreMerges = JsonFields.Bool(model, "ignore_merges"),
            FuseUnknown = JsonFields.Bool(model, "fuse_unk"),
            UnknownId = unk is not null && tokenToId.TryGetValue(unk, out int unkId) ? unkId : null,
        };
        result.ReadMerges(model, path);
        return result;
    }

    /// <summary>Appends the ids of pre-tokenized pieces.</summary>
    /// <param name="pieces">The pieces of one section of text.</param>
    /// <param name="output">Receives the ids.</param>
    public void Encode(List<string> pieces, List<int> output)
    {
        int first = output.Count;
        foreach (string piece in pieces)
        {
            if (IgnoreMerges && _tokenToId.TryGetValue(piece, out int whole))
            {
                output.Add(whole);
                continue;
            }

            if (piece.Length < MaxCachedPieceLength && _cache.TryGetValue(piece, out int[]? cached))
            {
                output.AddRange(cached);
                continue;
            }

            int before = output.Count;
            foreach (string token in Merge(piece))
            {
                AppendToken(token, output);
            }

            if (piece.Length < MaxCachedPieceLength)
            {
                if (_cache.Count >= MaxCacheEntries)
                {
                    _cache.Clear();
                }

                _cache[piece] = [.. output.GetRange(before, output.Count - before)];
            }
        }

        if (FuseUnknown && UnknownId is int unknown)
        {
            // Runs of unknown tokens collapse to one.
            int write = first;
            for (int read = first; read < output.Count; read++)
            {
                if (output[read] == unknown && write > first && output[write - 1] == unknown)
                {
                    continue;
                }

                output[write++] = output[read];
            }

            output.RemoveRange(write, output.Count - write);
        }
    }

    private void AppendToken(string token, List<int> output)
    {
        if (_tokenToId.TryGetValue(token, out int id))
        {
            output.Add(id);
            return;
        }

        if (ByteFallback)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(token);
            var ids = new int[bytes.Length];
            bool all = true;
            for (int i = 0; i < bytes.Length && all; i++)
            {
                all = _tokenToId.TryGetValue($"<0x{bytes[i]:X2}>", out ids[i]);
            }

            if (all)
            {
                output.AddRange(ids);
                return;
            }
        }

        if (UnknownId is int unk)
        {
            output.Add(unk);
        }

        // Without an unknown token the piece is dropped, as the reference drops it.
    }

    // Merges pairs of adjacent symbols, lowest rank first and leftmost first among equal ranks, until none applies.
    private List<string> Merge(string piece)
    {
        int n = 0;
        var symbol = new int[piece.Length];
        var text = new string?[piece.Length];
        var start = new int[piece.Length];
        for (int i = 0; i < piece.Length; i++)
        {
            int width = char.IsSurrogatePair(piece, i) ? 2 : 1;
            int codePoint = width == 2 ? char.ConvertToUtf32(piece[i], piece[i + 1]) : piece[i];
            symbol[n] = _codePointSymbols.TryGetValue(codePoint, out int s) ? s : -1;
            text[n] = symbol[n] < 0 ? piece.Substring(i, width) : null;
            start[n] = n;
            n++;
            i += width - 1;
        }

        var next = new int[n];
        var prev = new int[n];
        for (int i = 0; i < n; i++)
        {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }

        // Queue entries (left node, its symbol, right node, its symbol) go stale when either node changes; a node's
        // symbol only ever grows into a longer merge, so a stale entry never matches again.
        var queue = new PriorityQueue<(int Left, int LeftSymbol, int Right, int RightSymbol, int Merged), long>();
        void Push(int left)
        {
            int right = next[left];
            if (right >= 0 && symbol[left] >= 0 && symbol[right] >= 0
                && _merges.TryGetValue(Key(symbol[left], symbol[right]), out long merge))
            {
                queue.Enqueue((left, symbol[left], right, symbol[right], (int)merge), ((merge >>> 32) << 32) | (uint)start[left]);
            }
        }

        for (int i = 0; i + 1 < n; i++)
        {
            Push(i);
        }

        var alive = new bool[n];
        Array.Fill(alive, true);
        while (queue.TryDequeue(out var e, out _))
        {
            if (!alive[e.Left] || !alive[e.Right] || next[e.Left] != e.Right || symbol[e.Left] != e.LeftSymbol || symbol[e.Right] != e.RightSymbol)
            {
                continue;
            }

            symbol[e.Left] = e.Merged;
            alive[e.Right] = false;
            next[e.Left] = next[e.Right];
            if (next[e.Left] >= 0)
            {
                prev[next[e.Left]] = e.Left;
                Push(e.Left);
            }

            if (prev[e.Left] >= 0)
            {
                Push(prev[e.Left]);
            }
        }

        var tokens = new List<string>();
        for (int i = n > 0 ? 0 : -1; i >= 0; i = next[i])
        {
            tokens.Add(symbol[i] >= 0 ? _symbols[symbol[i]] : text[i]!);
        }

        return tokens;
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    private int Intern(string token)
    {
        if (!_symbolIds.TryGetValue(token, out int id))
        {
            id = _symbols.Count;
            _symbols.Add(token);
            _symbolIds[token] = id;
            if (token.Length == 1 || (token.Length == 2 && char.IsSurrogatePair(token, 0)))
            {
                _codePointSymbols[char.ConvertToUtf32(token, 0)] = id;
            }
        }

        return id;
    }

    private void ReadMerges(JsonElement model, string path)
    {
        if (JsonFields.Property(model, "merges") is not { ValueKind: JsonValueKind.Array } merges)
        {
            throw new InvalidDataException($"'{path}': model.merges is missing or not an array.");
        }

        // Every symbol the merges can produce or consume gets an id; single code points first so that a piece's
        // characters find theirs.
        int rank = 0;
        foreach (JsonElement m in merges.EnumerateArray())
        {
            (string? left, string? right) = m.ValueKind switch
            {
                // Older files write "a b"; the reference splits on the first space and ignores anything after a second.
                JsonValueKind.String when m.GetString()!.Split(' ') is { Length: >= 2 } parts => (parts[0], parts[1]),
                JsonValueKind.Array when m.GetArrayLength() == 2 && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String
                    => (m[0].GetString(), m[1].GetString()),
                _ => (null, null),
            };
            if (left is null || right is null)
            {
                throw new InvalidDataException($"'{path}': model.merges entry {m.GetRawText()} is not a pair of tokens.");
            }

            int l = Intern(left), r = Intern(right), merged = Intern(left + right);

            // A repeated pair keeps its last rank, as the reference's Map does.
            _merges[Key(l, r)] = ((long)rank << 32) | (uint)merged;
            rank++;
        }

        foreach (string token in _tokenToId.Keys)
        {
            if (token.Length == 1 || (token.Length == 2 && char.IsSurrogatePair(token, 0)))
            {
                Intern(token);
            }
        }
    }
}
