using MoR.Benchmarks;
using TorchSharp;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// TorchSharp's y = x·Wᵀ as a user writes it: <c>torch.matmul(x, W.t())</c> (a transposed view, no copy).
/// With a BF16 weight x is cast to BF16 first (our GEMM rounds x inside the call too); the product is BF16.
/// The result is a new tensor per call, as in user code.
/// </summary>
internal sealed class TorchGemmPeer : IDisposable
{
    private readonly TTensor _x;
    private readonly TTensor _weight;
    private readonly TTensor _weightT;
    private readonly bool _bf16;

    public TorchGemmPeer(GemmShape shape, DType weightDType)
    {
        using var generator = new Generator(0x6E3D);
        _x = rand(new long[] { shape.M, shape.K }, generator: generator) * 2 - 1;
        using TTensor w = (rand(new long[] { shape.N, shape.K }, generator: generator) * 2 - 1) * 0.02;
        _bf16 = weightDType == DType.BF16;
        _weight = _bf16 ? w.to_type(ScalarType.BFloat16) : w.alias();
        _weightT = _weight.t();
    }

    public void Run()
    {
        using var scope = NewDisposeScope();
        TTensor x = _bf16 ? _x.to_type(ScalarType.BFloat16) : _x;
        _ = matmul(x, _weightT);
    }

    public void Dispose()
    {
        _weightT.Dispose();
        _weight.Dispose();
        _x.Dispose();
    }
}
