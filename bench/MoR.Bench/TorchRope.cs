using TorchSharp;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// Rotary embeddings in Hugging Face's rotate_half convention: cos/sin tables [positions, head_dim] built
/// as transformers builds them (float32 positions × our <c>LlamaConfig.RopeInverseFrequencies</c>, which
/// already apply linear or llama3 scaling, each frequency repeated for both halves).
/// </summary>
internal sealed class TorchRope : IDisposable
{
    private readonly TTensor _cos, _sin;

    public TorchRope(float[] inverseFrequencies, int maxPositions)
    {
        using var scope = NewDisposeScope();
        TTensor positions = arange(maxPositions, ScalarType.Float32);
        TTensor freqs = outer(positions, tensor(inverseFrequencies));
        TTensor angles = cat([freqs, freqs], -1);
        _cos = angles.cos().MoveToOuterDisposeScope();
        _sin = angles.sin().MoveToOuterDisposeScope();
    }

    /// <summary>Positions the tables cover.</summary>
    public long MaxPositions => _cos.shape[0];

    /// <summary>x [B, heads, T, head_dim] at positions [start, start + T), rotated.</summary>
    public TTensor Apply(TTensor x, long start)
    {
        long t = x.shape[2];
        if (start + t > MaxPositions)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"positions up to {start + t} exceed the {MaxPositions} the RoPE tables cover");
        }

        TTensor cos = _cos.narrow(0, start, t), sin = _sin.narrow(0, start, t);
        long half = x.shape[3] / 2;
        TTensor rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
        return (x * cos) + (rotated * sin);
    }

    public void Dispose()
    {
        _cos.Dispose();
        _sin.Dispose();
    }
}
