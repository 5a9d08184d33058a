using MoR.IO;
using MoR.Numerics;

namespace MoR.Model;

public sealed partial class LlamaModel
{
    /// <summary>
    /// Loads a Hugging Face model directory: <c>config.json</c> plus <c>model.safetensors</c> or a sharded
    /// <c>model.safetensors.index.json</c>.
    /// </summary>
    /// <param name="directory">The model directory.</param>
    /// <param name="device">Where to put the weights.</param>
    /// <param name="options">Trainable (full fine-tuning) or frozen, and the frozen weights' dtype.</param>
    /// <returns>The model; dispose it to free the device memory.</returns>
    /// <exception cref="LlamaConfigException">config.json is missing a field, inconsistent or describes an unsupported model.</exception>
    /// <exception cref="CheckpointMismatchException">A weight is missing, has the wrong shape or an unsupported dtype; the message names it.</exception>
    /// <exception cref="FileNotFoundException">config.json or the weights file is missing.</exception>
    /// <exception cref="NonFiniteTensorException">A weight holds a NaN or an infinity; the message names it.</exception>
    public static LlamaModel Load(string directory, Device device, ModelLoadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(device);
        options ??= new ModelLoadOptions();
        if (options.FrozenWeightDType is not (null or DType.F32 or DType.BF16))
        {
            throw new ArgumentException($"FrozenWeightDType must be F32, BF16 or null (as stored); got {options.FrozenWeightDType}.", nameof(options));
        }

        string configPath = Path.Combine(directory, LlamaConfig.FileName);
        LlamaConfig config = ReadConfig(directory);
        using CheckpointReader checkpoint = CheckpointReader.Open(directory);
        config.VerifyCheckpoint(checkpoint);
        List<string> warnings = [];
        if (config.TieWordEmbeddings && TiedHeadDiffers(checkpoint))
        {
            warnings.Add($"'{configPath}' sets tie_word_embeddings, so the LM head reuses model.embed_tokens.weight and the checkpoint's " +
                         "tensor 'lm_head.weight' is ignored (as transformers does); set tie_word_embeddings to false to use it");
        }

        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (ExpectedTensor expected in config.ExpectedTensors())
            {
                // Before the copy, one vectorised pass: a NaN or Inf weight is named here instead of surfacing as NaN output.
                checkpoint.EnsureFinite(expected.Name);
                bool keepF32 = options.Trainable || expected.Shape.Count == 1;
                weights[expected.Name] = ReadWeight(checkpoint, expected.Name, device, keepF32 ? DType.F32 : options.FrozenWeightDType);
            }

            return new LlamaModel(config, device, options.Trainable, weights) { SourcePath = Path.GetFullPath(directory), LoadWarnings = warnings };
        }
        finally
        {
            foreach (Tensor t in weights.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>Reads a model folder's <c>config.json</c> without loading any weight (to size a run first).</summary>
    /// <param name="directory">The model directory.</param>
    /// <returns>The validated config.</returns>
    /// <exception cref="LlamaConfigException">config.json is malformed, inconsistent or describes an unsupported model.</exception>
    /// <exception cref="FileNotFoundException">config.json is missing.</exception>
    public static LlamaConfig ReadConfig(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Model directory '{directory}' does not exist.");
        }

        string configPath = Path.Combine(directory, LlamaConfig.FileName);
        if (!File.Exists(configPath))
        {
            throw new FileNotFoundException($"'{directory}' has no {LlamaConfig.FileName}: not a Hugging Face model directory.", configPath);
        }

        return LlamaConfig.Load(configPath);
    }

    /// <summary>
    /// The config of a model folder checked against its checkpoint (every weight present with its shape and a float
    /// dtype), and the dtype its matrices are stored in — everything <see cref="Load"/> refuses about the files, found
    /// without copying a weight.
    /// </summary>
    /// <param name="directory">The model directory.</param>
    /// <param name="matrixDType">The stored dtype of the embedding (F32, F16 or BF16).</param>
    /// <returns>The validated config.</returns>
    public static LlamaConfig ReadAndVerify(string directory, out SafeTensorDType matrixDType)
    {
        LlamaConfig config = ReadConfig(directory);
        using CheckpointReader checkpoint = CheckpointReader.Open(directory);
        config.VerifyCheckpoint(checkpoint);
        matrixDType = checkpoint.GetInfo("model.embed_tokens.weight").DType;
        return config;
    }

    /// <summary>
    /// A randomly initialised model, as transformers initialises LLaMA: linear and embedding weights
    /// N(0, initializer_range²) (0.02 by default), norm weights 1. Same seed, same weights, whatever the
    /// number of cores: each block of a tensor draws from its own stream derived from (seed, tensor, block),
    /// which lets a 7B model fill in seconds.
    /// </summary>
    /// <param name="config">The architecture (validated here).</param>
    /// <param name="device">Where to put the weights.</param>
    /// <param name="seed">Seeds the normal draws.</param>
    /// <param name="trainable">Full fine-tuning (F32 parameters with gradients) or frozen weights.</param>
    /// <param name="frozenWeightDType">The frozen matrices' dtype (F32 or BF16; norms stay F32); ignored when trainable.</param>
    /// <returns>The model.</returns>
    public static LlamaModel CreateRandom(LlamaConfig config, Device device, ulong seed, bool trainable, DType frozenWeightDType = DType.F32)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(device);
        if (frozenWeightDType is not (DType.F32 or DType.BF16))
        {
            throw new ArgumentException($"frozenWeightDType must be F32 or BF16, not {frozenWeightDType}.", nameof(frozenWeightDType));
        }

        config.Validate();
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            IReadOnlyList<ExpectedTensor> expectedTensors = config.ExpectedTensors();
            for (int index = 0; index < expectedTensors.Count; index++)
            {
                ExpectedTensor expected = expectedTensors[index];
                long numel = expected.Shape.Aggregate(1L, (a, b) => a * b);
                float[] values = new float[numel];
                if (expected.Shape.Count == 1)
                {
                    Array.Fill(values, 1f);
                }
                else
                {
                    FillNormalInBlocks(values, config.InitializerRange, seed, index);
                }

                Tensor f32 = Tensor.FromSpan<float>(device, values, [.. expected.Shape]);
                Tensor weight = f32;
                if (!trainable && expected.Shape.Count > 1 && frozenWeightDType != DType.F32)
                {
                    using (f32)
                    {
                        weight = f32.To(frozenWeightDType);
                    }
                }

                weights[expected.Name] = weight;
            }

            return new LlamaModel(config, device, trainable, weights);
        }
        finally
        {
            foreach (Tensor t in weights.Values)
            {
                t.Dispose();
            }
        }
    }

    private static void FillNormalInBlocks(float[] values, double std, ulong seed, int tensorIndex)
    {
        const int BlockSize = 1 << 16;
        int blocks = (int)((values.LongLength + BlockSize - 1) / BlockSize);
        Parallel.For(0, blocks, block =>
        {
            ulong stream = seed ^ (((ulong)tensorIndex + 1) * 0x9E3779B97F4A7C15UL) ^ (((ulong)block + 1) * 0xC2B2AE3D27D4EB4FUL);
            int start = block * BlockSize;
            new SeededRandom(stream).FillNormal(values.AsSpan(start, (int)Math.Min(BlockSize, values.LongLength - start)), std);
        });
    }

    // A tied model saved with its (identical) LM head is common and harmless; only a different one is worth a warning.
    private static bool TiedHeadDiffers(CheckpointReader checkpoint)
    {
        if (!checkpoint.TryGetInfo("lm_head.weight", out TensorInfo head))
        {
            return false;
        }

        TensorInfo embedding = checkpoint.GetInfo("model.embed_tokens.weight");
        return head.DType != embedding.DType || !head.Shape.SequenceEqual(embedding.Shape) || head.ByteLength > int.MaxValue
            || !checkpoint.GetBytes("lm_head.weight").SequenceEqual(checkpoint.GetBytes("model.embed_tokens.weight"));
    }

    // F16 is widened to F32 when kept "as stored": the embedding and DoRA kernels read F32 or BF16 only.
    private static Tensor ReadWeight(CheckpointReader checkpoint, string name, Device device, DType? target)
    {
        Tensor raw = checkpoint.ReadTensor(name, device);
        DType wanted = target ?? (raw.DType == DType.F16 ? DType.F32 : raw.DType);
        if (raw.DType == wanted)
        {
            return raw;
        }

        using (raw)
        {
            return raw.To(wanted);
        }
    }
}
