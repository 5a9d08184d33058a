using System.Text.Json;

namespace MoR.IO;

/// <summary>
/// The architecture of a LLaMA-family model, as a Hugging Face <c>config.json</c> describes it
/// (<c>model_type</c> <c>llama</c> or <c>mistral</c>: LLaMA 1/2/3, TinyLlama, SmolLM, Mistral...).
/// <see cref="Load"/> reads and validates one; <see cref="Save"/> writes one transformers can read.
/// </summary>
public sealed class LlamaConfig
{
    /// <summary>The file name Hugging Face uses.</summary>
    public const string FileName = "config.json";

    /// <summary>The largest <c>hidden_size</c>, <c>intermediate_size</c>, <c>head_dim</c> and query width <see cref="Validate"/> accepts.</summary>
    public const int MaxWidth = 1 << 20;

    /// <summary>The largest <c>num_hidden_layers</c> <see cref="Validate"/> accepts.</summary>
    public const int MaxLayers = 1 << 16;

    /// <summary>The largest <c>num_attention_heads</c> / <c>num_key_value_heads</c> <see cref="Validate"/> accepts.</summary>
    public const int MaxHeads = 1 << 16;

    /// <summary>The largest <c>vocab_size</c> <see cref="Validate"/> accepts.</summary>
    public const int MaxVocabulary = 1 << 24;

    private int? _numKeyValueHeads;
    private int? _headDim;
    private DType? _torchDType;

    /// <summary><c>model_type</c>: <c>llama</c> or <c>mistral</c>.</summary>
    public string ModelType { get; init; } = "llama";

    /// <summary><c>hidden_size</c>: model width d.</summary>
    public required int HiddenSize { get; init; }

    /// <summary><c>intermediate_size</c>: width of the SwiGLU MLP.</summary>
    public required int IntermediateSize { get; init; }

    /// <summary><c>num_hidden_layers</c>.</summary>
    public required int NumHiddenLayers { get; init; }

    /// <summary><c>num_attention_heads</c>: query heads.</summary>
    public required int NumAttentionHeads { get; init; }

    /// <summary><c>num_key_value_heads</c>: key/value heads (grouped-query attention); defaults to <see cref="NumAttentionHeads"/>.</summary>
    public int NumKeyValueHeads
    {
        get => _numKeyValueHeads ?? NumAttentionHeads;
        init => _numKeyValueHeads = value;
    }

    /// <summary><c>head_dim</c>; defaults to <see cref="HiddenSize"/> / <see cref="NumAttentionHeads"/>.</summary>
    public int HeadDim
    {
        get => _headDim ?? (NumAttentionHeads > 0 ? HiddenSize / NumAttentionHeads : 0);
        init => _headDim = value;
    }

    /// <summary><c>rms_norm_eps</c> (default 1e-6, as transformers).</summary>
    public double RmsNormEps { get; init; } = 1e-6;

    /// <summary><c>rope_theta</c>: RoPE base (default 10000).</summary>
    public double RopeTheta { get; init; } = 10000;

    /// <summary><c>rope_scaling</c>, or <see langword="null"/> for none.</summary>
    public RopeScaling? RopeScaling { get; init; }

    /// <summary><c>max_position_embeddings</c> (default 2048, as transformers).</summary>
    public int MaxPositionEmbeddings { get; init; } = 2048;

    /// <summary><c>vocab_size</c>: rows of the embedding and of the LM head.</summary>
    public required int VocabSize { get; init; }

    /// <summary><c>tie_word_embeddings</c>: the LM head reuses the embedding (no <c>lm_head.weight</c>).</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary><c>torch_dtype</c> (or <c>dtype</c>): the dtype the weights were saved in, if stated.</summary>
    public DType? TorchDType
    {
        get => _torchDType;
        init => _torchDType = value;
    }

    /// <summary><c>bos_token_id</c>, if stated.</summary>
    public int? BosTokenId { get; init; }

    /// <summary><c>eos_token_id</c>: one id or several (LLaMA 3 instruct lists its end-of-turn ids).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary><c>pad_token_id</c>, if stated.</summary>
    public int? PadTokenId { get; init; }

    /// <summary><c>hidden_act</c>: always <c>silu</c> (others are rejected).</summary>
    public string HiddenAct => "silu";

    /// <summary><c>initializer_range</c> (default 0.02): the std of weight initialisation.</summary>
    public double InitializerRange { get; init; } = 0.02;

    /// <summary><c>sliding_window</c> (Mistral), or <see langword="null"/>. MoR attends over the whole
    /// context, which equals sliding-window attention for sequences no longer than the window.</summary>
    public int? SlidingWindow { get; init; }

    /// <summary>Where the config was read from (for messages), or <see langword="null"/>.</summary>
    public string? SourcePath { get; init; }

    /// <summary>Whether <c>head_dim</c> was given explicitly rather than derived.</summary>
    public bool HasExplicitHeadDim => _headDim.HasValue;

    /// <summary>Reads and validates a <c>config.json</c> (or the one inside a directory).</summary>
    /// <param name="path">The file or its directory.</param>
    /// <returns>The validated config.</returns>
    /// <exception cref="LlamaConfigException">A field is missing, malformed, inconsistent or unsupported.</exception>
    public static LlamaConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        return Parse(File.ReadAllText(file), file);
    }

    /// <summary>Parses and validates config JSON.</summary>
    /// <param name="json">The text.</param>
    /// <param name="source">Where it came from, for messages.</param>
    /// <returns>The validated config.</returns>
    /// <exception cref="LlamaConfigException">A field is missing, malformed, inconsistent or unsupported.</exception>
    public static LlamaConfig Parse(string json, string source = FileName)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, JsonDuplicateKeys.StrictOptions);
        }
        catch (JsonException e)
        {
            throw new LlamaConfigException(source, "(file)", $"is not valid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {JsonFile.Clean(e.Message)}", e);
        }

        using (document)
        {
            // The parser accepts strings no reader can decode (an unpaired "\ud800"): refuse them here, with their position.
            if (JsonFile.Scan(System.Text.Encoding.UTF8.GetBytes(json), allowDuplicateKeys: true) is { } bad)
            {
                throw new LlamaConfigException(source, "(file)", $"is not valid JSON at line {bad.Line}, byte {bad.Position}: {bad.Detail}");
            }

            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new LlamaConfigException(source, "(file)", "the top-level value is not an object");
            }

            if (JsonDuplicateKeys.Find(document.RootElement) is string duplicate)
            {
                throw new LlamaConfigException(source, duplicate, "appears twice");
            }

            LlamaConfig config = FromJson(new ConfigJsonReader(source, document.RootElement));
            config.Validate();
            return config;
        }
    }

    /// <summary>A copy with another <see cref="TorchDType"/>: what a model saved in that dtype declares.</summary>
    internal LlamaConfig WithTorchDType(DType? dtype)
    {
        var copy = (LlamaConfig)MemberwiseClone();
        copy._torchDType = dtype;
        return copy;
    }

    /// <summary>Checks sizes and their consistency.</summary>
    /// <exception cref="LlamaConfigException">The first rule broken, naming the field.</exception>
    public void Validate()
    {
        string source = SourcePath ?? "(in memory)";
        LlamaConfigException Error(string field, string detail) => new(source, field, detail);

        if (ModelType is not ("llama" or "mistral"))
        {
            throw Error("model_type", $"'{ModelType}' is not supported: MoR runs LLaMA-architecture models (model_type 'llama' or 'mistral')");
        }

        (string Field, long Value)[] positive =
        [
            ("hidden_size", HiddenSize), ("intermediate_size", IntermediateSize), ("num_hidden_layers", NumHiddenLayers),
            ("num_attention_heads", NumAttentionHeads), ("num_key_value_heads", NumKeyValueHeads), ("vocab_size", VocabSize),
            ("max_position_embeddings", MaxPositionEmbeddings), ("head_dim", HeadDim),
        ];
        foreach ((string field, long value) in positive)
        {
            if (value <= 0)
            {
                throw Error(field, $"must be positive, not {value}");
            }
        }

        // Far beyond any LLaMA-family model (the largest has 126 layers, width 16384, a 256k vocabulary), and
        // small enough that every count and width below stays a 32-bit integer: a mistyped size stops here,
        // named, before anything is sized from it.
        (string Field, long Value, long Limit)[] ceilings =
        [
            ("hidden_size", HiddenSize, MaxWidth), ("intermediate_size", IntermediateSize, MaxWidth), ("head_dim", HeadDim, MaxWidth),
            ("num_hidden_layers", NumHiddenLayers, MaxLayers), ("num_attention_heads", NumAttentionHeads, MaxHeads),
            ("num_key_value_heads", NumKeyValueHeads, MaxHeads), ("vocab_size", VocabSize, MaxVocabulary),
        ];
        foreach ((string field, long value, long limit) in ceilings)
        {
            if (value > limit)
            {
                throw Error(field, $"{value} is beyond any supported model (at most {limit})");
            }
        }

        if ((long)NumAttentionHeads * HeadDim > MaxWidth)
        {
            throw Error("num_attention_heads", $"{NumAttentionHeads} heads x head_dim {HeadDim} = {(long)NumAttentionHeads * HeadDim} is wider than any supported model (at most {MaxWidth})");
        }

        if (!HasExplicitHeadDim && HiddenSize % NumAttentionHeads != 0)
        {
            throw Error("hidden_size", $"{HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads} (and head_dim is not given)");
        }

        if (HeadDim % 2 != 0)
        {
            throw Error("head_dim", $"{HeadDim} is odd; RoPE rotates pairs of dimensions");
        }

        if (NumAttentionHeads % NumKeyValueHeads != 0)
        {
            throw Error("num_key_value_heads", $"num_attention_heads {NumAttentionHeads} is not divisible by num_key_value_heads {NumKeyValueHeads}");
        }

        if (!(RmsNormEps > 0) || !double.IsFinite(RmsNormEps))
        {
            throw Error("rms_norm_eps", $"must be a positive number, not {RmsNormEps}");
        }

        if (!(RopeTheta > 0) || !double.IsFinite(RopeTheta))
        {
            throw Error("rope_theta", $"must be a positive number, not {RopeTheta}");
        }

        if (SlidingWindow is <= 0)
        {
            throw Error("sliding_window", $"must be positive or null, not {SlidingWindow}");
        }

        ValidateRopeScaling(Error);
        foreach ((string field, int? id) in EosTokenIds.Select(id => ("eos_token_id", (int?)id)).Append(("bos_token_id", BosTokenId)).Append(("pad_token_id", PadTokenId)))
        {
            if (id is int value && (value < 0 || value >= VocabSize))
            {
                throw Error(field, $"{value} is outside the vocabulary [0, {VocabSize})");
            }
        }
    }

    /// <summary>Every weight the model needs, with Hugging Face names and shapes.</summary>
    /// <returns>Embedding, per-layer attention/MLP/norm weights, final norm, and the LM head unless tied.</returns>
    public IReadOnlyList<ExpectedTensor> ExpectedTensors()
    {
        long d = HiddenSize, ff = IntermediateSize, q = (long)NumAttentionHeads * HeadDim, kv = (long)NumKeyValueHeads * HeadDim;
        var list = new List<ExpectedTensor>((NumHiddenLayers * 9) + 3) { new("model.embed_tokens.weight", [VocabSize, d]) };
        for (int i = 0; i < NumHiddenLayers; i++)
        {
            string p = $"model.layers.{i}.";
            list.Add(new(p + "self_attn.q_proj.weight", [q, d]));
            list.Add(new(p + "self_attn.k_proj.weight", [kv, d]));
            list.Add(new(p + "self_attn.v_proj.weight", [kv, d]));
            list.Add(new(p + "self_attn.o_proj.weight", [d, q]));
            list.Add(new(p + "mlp.gate_proj.weight", [ff, d]));
            list.Add(new(p + "mlp.up_proj.weight", [ff, d]));
            list.Add(new(p + "mlp.down_proj.weight", [d, ff]));
            list.Add(new(p + "input_layernorm.weight", [d]));
            list.Add(new(p + "post_attention_layernorm.weight", [d]));
        }

        list.Add(new("model.norm.weight", [d]));
        if (!TieWordEmbeddings)
        {
            list.Add(new("lm_head.weight", [VocabSize, d]));
        }

        return list;
    }

    /// <summary>Checks that a checkpoint has every expected weight, with the expected shape and a float
    /// dtype MoR computes in (F32, F16, BF16). Extra tensors (e.g. old <c>rotary_emb.inv_freq</c>) are ignored.</summary>
    /// <param name="checkpoint">The opened checkpoint.</param>
    /// <exception cref="CheckpointMismatchException">The first mismatch, naming the tensor.</exception>
    public void VerifyCheckpoint(CheckpointReader checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        VerifySizes(checkpoint);
        foreach (ExpectedTensor expected in ExpectedTensors())
        {
            if (!checkpoint.TryGetInfo(expected.Name, out TensorInfo info))
            {
                throw new CheckpointMismatchException(checkpoint.Location, expected.Name, $"missing (expected shape {TensorInfo.FormatShape(expected.Shape)})");
            }

            if (!info.Shape.SequenceEqual(expected.Shape))
            {
                throw new CheckpointMismatchException(checkpoint.Location, expected.Name, $"has shape {info.FormatShape()}, expected {TensorInfo.FormatShape(expected.Shape)}");
            }

            if (info.DType is not (SafeTensorDType.F32 or SafeTensorDType.F16 or SafeTensorDType.BF16))
            {
                throw new CheckpointMismatchException(checkpoint.Location, expected.Name, $"has unsupported dtype {info.DType.ToSafeTensorsName()}; weights must be F32, F16 or BF16");
            }
        }
    }

    /// <summary>
    /// Checks the sizes the config claims against what the checkpoint holds, in time independent of them: the depth
    /// (the checkpoint must have a layer <c>num_hidden_layers</c> − 1) and the embedding's shape. Runs before any
    /// per-layer list is built, so a mistyped size fails at once, naming the field; after it, every per-tensor check is
    /// bounded by the checkpoint's own size.
    /// </summary>
    /// <param name="checkpoint">The opened checkpoint.</param>
    /// <exception cref="LlamaConfigException">A size the checkpoint cannot back, naming the field.</exception>
    public void VerifySizes(CheckpointReader checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        string source = SourcePath ?? "(in memory)";
        LlamaConfigException Error(string field, string detail) => new(source, field, $"{detail} (checkpoint '{checkpoint.Location}')");
        int? deepest = DeepestLayer(checkpoint);
        if (deepest is not int d || NumHiddenLayers > d + 1)
        {
            string holds = deepest is int last ? $"its deepest layer is model.layers.{last}" : "it holds no model.layers.* tensor";
            throw Error("num_hidden_layers", $"{NumHiddenLayers} layers, but the checkpoint has {checkpoint.Count} tensors and {holds}");
        }

        if (checkpoint.TryGetInfo("model.embed_tokens.weight", out TensorInfo embedding) && embedding.Shape.Count == 2)
        {
            if (embedding.Shape[0] != VocabSize)
            {
                throw Error("vocab_size", $"{VocabSize}, but model.embed_tokens.weight has {embedding.Shape[0]} rows");
            }

            if (embedding.Shape[1] != HiddenSize)
            {
                throw Error("hidden_size", $"{HiddenSize}, but model.embed_tokens.weight has {embedding.Shape[1]} columns");
            }
        }
    }

    private static int? DeepestLayer(CheckpointReader checkpoint)
    {
        const string Prefix = "model.layers.";
        int? deepest = null;
        foreach (string name in checkpoint.TensorNames)
        {
            if (name.StartsWith(Prefix, StringComparison.Ordinal))
            {
                ReadOnlySpan<char> rest = name.AsSpan(Prefix.Length);
                int dot = rest.IndexOf('.');
                if (dot > 0 && int.TryParse(rest[..dot], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int layer))
                {
                    deepest = Math.Max(deepest ?? layer, layer);
                }
            }
        }

        return deepest;
    }

    /// <summary>RoPE inverse frequencies (<see cref="HeadDim"/> / 2 of them), scaled as <see cref="RopeScaling"/> says.</summary>
    /// <returns>The frequencies, bit-compatible with transformers' float32 computation.</returns>
    public float[] RopeInverseFrequencies() => RopeFrequencies.Compute(HeadDim, RopeTheta, RopeScaling);

    /// <summary>Writes the config as Hugging Face <c>config.json</c>, atomically.</summary>
    /// <param name="path">The file, or a directory to write <c>config.json</c> into.</param>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Validate();
        string file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        AtomicFile.Write(file, WriteJson);
    }

    /// <summary>The config as Hugging Face JSON text.</summary>
    /// <returns>Indented JSON.</returns>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        WriteJson(buffer);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private void WriteJson(Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteStartArray("architectures");
        w.WriteStringValue(ModelType == "mistral" ? "MistralForCausalLM" : "LlamaForCausalLM");
        w.WriteEndArray();
        w.WriteString("model_type", ModelType);
        w.WriteNumber("hidden_size", HiddenSize);
        w.WriteNumber("intermediate_size", IntermediateSize);
        w.WriteNumber("num_hidden_layers", NumHiddenLayers);
        w.WriteNumber("num_attention_heads", NumAttentionHeads);
        w.WriteNumber("num_key_value_heads", NumKeyValueHeads);
        w.WriteNumber("head_dim", HeadDim);
        w.WriteString("hidden_act", HiddenAct);
        w.WriteNumber("rms_norm_eps", RmsNormEps);
        w.WriteNumber("rope_theta", RopeTheta);
        if (RopeScaling is { } s)
        {
            w.WriteStartObject("rope_scaling");
            w.WriteString("rope_type", s.TypeName);
            w.WriteNumber("factor", s.Factor);
            if (s.Type == RopeScalingType.Llama3)
            {
                w.WriteNumber("low_freq_factor", s.LowFreqFactor);
                w.WriteNumber("high_freq_factor", s.HighFreqFactor);
                w.WriteNumber("original_max_position_embeddings", s.OriginalMaxPositionEmbeddings);
            }

            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("rope_scaling");
        }

        w.WriteNumber("max_position_embeddings", MaxPositionEmbeddings);
        w.WriteNumber("vocab_size", VocabSize);
        w.WriteBoolean("tie_word_embeddings", TieWordEmbeddings);
        w.WriteBoolean("attention_bias", false);
        w.WriteBoolean("mlp_bias", false);
        w.WriteNumber("initializer_range", InitializerRange);
        if (TorchDType is DType dtype)
        {
            w.WriteString("torch_dtype", TorchDTypeName(dtype));
        }

        WriteOptional(w, "bos_token_id", BosTokenId);
        if (EosTokenIds.Count == 1)
        {
            w.WriteNumber("eos_token_id", EosTokenIds[0]);
        }
        else if (EosTokenIds.Count > 1)
        {
            w.WriteStartArray("eos_token_id");
            foreach (int id in EosTokenIds)
            {
                w.WriteNumberValue(id);
            }

            w.WriteEndArray();
        }

        WriteOptional(w, "pad_token_id", PadTokenId);
        if (ModelType == "mistral")
        {
            WriteOptional(w, "sliding_window", SlidingWindow);
        }

        w.WriteEndObject();
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, int? value)
    {
        if (value is int v)
        {
            w.WriteNumber(name, v);
        }
    }

    private static string TorchDTypeName(DType dtype) => dtype switch
    {
        DType.F32 => "float32",
        DType.BF16 => "bfloat16",
        DType.F16 => "float16",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Weights are F32, BF16 or F16."),
    };

    private void ValidateRopeScaling(Func<string, string, LlamaConfigException> error)
    {
        if (RopeScaling is not { } s)
        {
            return;
        }

        if (!(s.Factor > 0) || !double.IsFinite(s.Factor))
        {
            throw error("rope_scaling.factor", $"must be a positive number, not {s.Factor}");
        }

        if (s.Type != RopeScalingType.Llama3)
        {
            return;
        }

        if (!(s.LowFreqFactor > 0))
        {
            throw error("rope_scaling.low_freq_factor", $"must be positive, not {s.LowFreqFactor}");
        }

        if (!(s.HighFreqFactor > s.LowFreqFactor))
        {
            throw error("rope_scaling.high_freq_factor", $"{s.HighFreqFactor} must be greater than low_freq_factor {s.LowFreqFactor}");
        }

        if (s.OriginalMaxPositionEmbeddings <= 0)
        {
            throw error("rope_scaling.original_max_position_embeddings", $"must be positive, not {s.OriginalMaxPositionEmbeddings}");
        }
    }

    private static LlamaConfig FromJson(ConfigJsonReader r)
    {
        string modelType = r.OptionalString("model_type") ?? throw r.Error("model_type", "is required (expected 'llama' or 'mistral')");
        if (modelType is not ("llama" or "mistral"))
        {
            throw r.Error("model_type", $"'{modelType}' is not supported: MoR runs LLaMA-architecture models (model_type 'llama' or 'mistral')");
        }

        if (r.Has("quantization_config"))
        {
            throw r.Error("quantization_config", "quantized checkpoints are not supported; use F32, BF16 or F16 weights");
        }

        string? act = r.OptionalString("hidden_act") ?? r.OptionalString("hidden_activation");
        if (act is not (null or "silu" or "swish"))
        {
            throw r.Error("hidden_act", $"'{act}' is not supported; LLaMA MLPs use silu (SwiGLU)");
        }

        foreach (string bias in new[] { "attention_bias", "mlp_bias" })
        {
            if (r.OptionalBool(bias) == true)
            {
                throw r.Error(bias, "true is not supported: MoR's linear layers have no bias");
            }
        }

        int? kvHeads = r.OptionalInt("num_key_value_heads");
        int? headDim = r.OptionalInt("head_dim");
        var config = new LlamaConfig
        {
            ModelType = modelType,
            HiddenSize = r.RequiredInt("hidden_size"),
            IntermediateSize = r.RequiredInt("intermediate_size"),
            NumHiddenLayers = r.RequiredInt("num_hidden_layers"),
            NumAttentionHeads = r.RequiredInt("num_attention_heads"),
            VocabSize = r.RequiredInt("vocab_size"),
            RmsNormEps = r.OptionalDouble("rms_norm_eps") ?? 1e-6,
            RopeTheta = r.OptionalDouble("rope_theta") ?? 10000,
            RopeScaling = ReadRopeScaling(r),
            MaxPositionEmbeddings = r.OptionalInt("max_position_embeddings") ?? 2048,
            TieWordEmbeddings = r.OptionalBool("tie_word_embeddings") ?? false,
            TorchDType = ReadTorchDType(r),
            BosTokenId = r.OptionalInt("bos_token_id"),
            EosTokenIds = r.IntOrIntArray("eos_token_id"),
            PadTokenId = r.OptionalInt("pad_token_id"),
            InitializerRange = r.OptionalDouble("initializer_range") ?? 0.02,
            SlidingWindow = r.OptionalInt("sliding_window"),
            SourcePath = r.Source,
        };
        config._numKeyValueHeads = kvHeads;
        config._headDim = headDim;
        return config;
    }

    private static DType? ReadTorchDType(ConfigJsonReader r)
    {
        // transformers 4.56 renamed torch_dtype to dtype; accept either.
        string field = r.Has("torch_dtype") ? "torch_dtype" : "dtype";
        return r.OptionalString(field) switch
        {
            null => null,
            "float32" => DType.F32,
            "bfloat16" => DType.BF16,
            "float16" => DType.F16,
            string other => throw r.Error(field, $"'{other}' is not supported (float32, bfloat16 or float16)"),
        };
    }

    private static RopeScaling? ReadRopeScaling(ConfigJsonReader r)
    {
        if (r.OptionalObject("rope_scaling") is not ConfigJsonReader s)
        {
            return null;
        }

        // transformers reads "rope_type", falling back to the older "type".
        string typeField = s.Has("rope_type") ? "rope_type" : "type";
        string type = s.OptionalString(typeField) ?? throw s.Error("rope_type", "is required");
        switch (type)
        {
            case "default":
                return null;
            case "linear":
                return new RopeScaling(RopeScalingType.Linear, s.RequiredDouble("factor"));
            case "llama3":
                return new RopeScaling(
                    RopeScalingType.Llama3,
                    s.RequiredDouble("factor"),
                    s.RequiredDouble("low_freq_factor"),
                    s.RequiredDouble("high_freq_factor"),
                    s.RequiredInt("original_max_position_embeddings"));
            default:
                throw s.Error(typeField, $"'{type}' is not supported (supported: linear, llama3, or null for none)");
        }
    }
}
