using MoR.IO;
using MoR.Numerics;

namespace MoR.Tests.Model;

/// <summary>Writes tiny random LLaMA checkpoints (HF layout) to temporary directories, and keeps the float weights for the reference.</summary>
internal sealed class TinyCheckpoint : IDisposable
{
    private TinyCheckpoint(string directory, LlamaConfig config, Dictionary<string, float[]> weights)
    {
        Directory = directory;
        Config = config;
        Weights = weights;
    }

    public string Directory { get; }

    public LlamaConfig Config { get; }

    public Dictionary<string, float[]> Weights { get; }

    public static LlamaConfig TinyConfig(int kvHeads = 2, bool tied = false, int layers = 2, RopeScaling? scaling = null) => new()
    {
        HiddenSize = 32,
        IntermediateSize = 48,
        NumHiddenLayers = layers,
        NumAttentionHeads = 4,
        NumKeyValueHeads = kvHeads,
        VocabSize = 50,
        TieWordEmbeddings = tied,
        RmsNormEps = 1e-5,
        RopeTheta = 10000,
        RopeScaling = scaling,
        MaxPositionEmbeddings = 128,
        EosTokenIds = [2],
        BosTokenId = 1,
    };

    /// <summary>Random weights: matrices N(0, std²) (larger than LLaMA's 0.02 so gradients are well above rounding), norms 1 + N(0, 0.1²).</summary>
    public static TinyCheckpoint Create(LlamaConfig config, ulong seed = 1, double std = 0.15, SafeTensorDType dtype = SafeTensorDType.F32)
    {
        var rng = new SeededRandom(seed);
        var weights = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (ExpectedTensor e in config.ExpectedTensors())
        {
            float[] w = new float[e.Shape.Aggregate(1L, (a, b) => a * b)];
            rng.FillNormal(w, e.Shape.Count == 1 ? 0.1 : std);
            if (e.Shape.Count == 1)
            {
                for (int i = 0; i < w.Length; i++) w[i] += 1;
            }

            if (dtype == SafeTensorDType.BF16)
            {
                for (int i = 0; i < w.Length; i++) w[i] = (float)(BFloat16)w[i];
            }

            weights[e.Name] = w;
        }

        string dir = Path.Combine(Path.GetTempPath(), "mor-model-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(dir);
        Write(dir, config, weights, dtype);
        return new TinyCheckpoint(dir, config, weights);
    }

    public static void Write(string dir, LlamaConfig config, Dictionary<string, float[]> weights, SafeTensorDType dtype = SafeTensorDType.F32, Func<string, long[], long[]>? reshape = null)
    {
        var writer = new SafeTensorsWriter();
        foreach (ExpectedTensor e in config.ExpectedTensors())
        {
            if (!weights.TryGetValue(e.Name, out float[]? w)) continue;
            long[] shape = reshape?.Invoke(e.Name, [.. e.Shape]) ?? [.. e.Shape];
            if (dtype == SafeTensorDType.BF16)
            {
                writer.Add<BFloat16>(e.Name, dtype, shape, [.. w.Select(v => (BFloat16)v)]);
            }
            else
            {
                writer.Add<float>(e.Name, dtype, shape, w);
            }
        }

        writer.Save(Path.Combine(dir, "model.safetensors"));
        config.Save(Path.Combine(dir, "config.json"));
    }

    public ReferenceLlama Reference() =>
        new(Config, Weights.ToDictionary(kv => kv.Key, kv => kv.Value.Select(v => (double)v).ToArray(), StringComparer.Ordinal));

    public static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mor-model-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(dir);
        return dir;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
