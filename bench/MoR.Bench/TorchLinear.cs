using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// One projection y = x·Wᵀ (LLaMA has no biases) plus an optional adapter's delta. A BF16 frozen weight is
/// used as MoRNative uses it: the F32 activation is rounded to BF16 for the GEMM and the product comes
/// back as F32. libtorch also rounds that product to BF16, which our GEMM does not: the stacks then agree to
/// about 1e-4 in loss instead of 1e-7 (docs/BENCHMARKS.md).
/// </summary>
internal sealed class TorchLinear : IDisposable
{
    private readonly TTensor _weight;

    /// <summary>Takes ownership of <paramref name="weight"/> [out, in]; trainable wraps it as a parameter (F32 only).</summary>
    public TorchLinear(string path, TTensor weight, bool trainable)
    {
        Path = path;
        if (trainable && weight.dtype != ScalarType.Float32)
        {
            throw new ArgumentException($"'{path}': a trainable weight must be F32, not {weight.dtype}.", nameof(weight));
        }

        _weight = trainable ? new Parameter(weight) : weight;
    }

    /// <summary>The Hugging Face module path, e.g. <c>model.layers.0.mlp.up_proj</c>.</summary>
    public string Path { get; }

    /// <summary>The weight: a <see cref="Parameter"/> when trainable.</summary>
    public TTensor Weight => _weight;

    /// <summary>The attached adapter, if any (owned by this layer).</summary>
    public ITorchAdapter? Adapter { get; set; }

    /// <summary>d_in.</summary>
    public long InFeatures => _weight.shape[1];

    /// <summary>d_out.</summary>
    public long OutFeatures => _weight.shape[0];

    public TTensor Forward(TTensor x)
    {
        TTensor y = Project(x, _weight);
        return Adapter is null ? y : y + Adapter.Delta(x);
    }

    /// <summary>x·Wᵀ in F32 for an F32 or BF16 <paramref name="weight"/>.</summary>
    public static TTensor Project(TTensor x, TTensor weight) =>
        weight.dtype == x.dtype
            ? nn.functional.linear(x, weight)
            : nn.functional.linear(x.to_type(weight.dtype), weight).to_type(ScalarType.Float32);

    public void Dispose()
    {
        Adapter?.Dispose();
        _weight.Dispose();
    }
}
