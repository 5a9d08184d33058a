using MoR.Benchmarks;
using TorchSharp;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// The adapted layer written with TorchSharp ops and autograd — the C# port of
/// <c>scripts/peers/torch_layer_bench.py</c>. Each call does the same work as our LayerBenchmark
/// iteration: the frozen base (y = x·Wᵀ and dx; W has no gradient) plus the adapter's forward and
/// backward. With a BF16 base, x is cast to BF16 for the base GEMM and the product back to F32;
/// adapters are F32, as in MoRNative.
/// </summary>
internal sealed class TorchLayerPeer : IDisposable
{
    private const double S = 2.0;  // α / r, as in LayerBenchmark
    private readonly LayerBenchmarkOptions _o;
    private readonly ScalarType _baseType;
    private readonly TTensor _w, _x, _dy, _a, _b, _wg, _omegaA, _omegaB, _am, _bm;

    public TorchLayerPeer(LayerBenchmarkOptions options)
    {
        _o = options;
        _baseType = options.BaseDType == DType.BF16 ? ScalarType.BFloat16 : ScalarType.Float32;
        using var g = new Generator(options.Seed + 1);
        using (TTensor w = randn(new long[] { options.DOut, options.DIn }, generator: g) * 0.02)
        {
            _w = w.to_type(_baseType);
        }

        _x = randn(new long[] { options.T, options.DIn }, generator: g).requires_grad_(true);
        _dy = randn(new long[] { options.T, options.DOut }, generator: g);
        _a = Parameter(g, 0.01, options.R, options.DIn);
        _b = Parameter(g, 0.01, options.DOut, options.R);
        _wg = Parameter(g, 0.01, options.N, options.DIn);
        _omegaA = Parameter(g, 1.0, options.N, options.R);
        _omegaB = Parameter(g, 1.0, options.N, options.DOut);
        _am = Parameter(g, 0.01, options.N, options.R, options.DIn);
        _bm = Parameter(g, 0.01, options.N, options.DOut, options.R);
    }

    /// <summary>One forward + backward of <paramref name="method"/>; every temporary is freed on return.</summary>
    public void Step(TorchLayerMethod method)
    {
        using var scope = NewDisposeScope();
        TTensor y = method switch
        {
            TorchLayerMethod.Base => BaseOut(),
            TorchLayerMethod.LoRA => BaseOut() + (S * matmul(matmul(_x, _a.t()), _b.t())),
            TorchLayerMethod.MoELoRA => MoELoRA(),
            TorchLayerMethod.MoRPerExpert => MoRPerExpert(),
            TorchLayerMethod.MoRRankExpanded => MoRRankExpanded(),
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
        };
        y.backward([_dy]);
    }

    public void Dispose()
    {
        foreach (TTensor t in new[] { _w, _x, _dy, _a, _b, _wg, _omegaA, _omegaB, _am, _bm })
        {
            t.Dispose();
        }
    }

    private static TTensor Parameter(Generator g, double scale, params long[] shape) =>
        (randn(shape, generator: g) * scale).requires_grad_(true);

    private TTensor BaseOut() =>
        _baseType == ScalarType.Float32 ? matmul(_x, _w.t()) : matmul(_x.to_type(_baseType), _w.t()).to_type(ScalarType.Float32);

    private TTensor MoELoRA()
    {
        TTensor gate = softmax(matmul(_x, _wg.t()), -1);
        TTensor y = BaseOut();
        for (int i = 0; i < _o.N; i++)
        {
            y = y + (S * gate.narrow(1, i, 1) * matmul(matmul(_x, _am[i].t()), _bm[i].t()));
        }

        return y;
    }

    // The paper's sum over experts, term by term: g_i · ω_B[i] ⊙ (B (ω_A[i] ⊙ h)).
    private TTensor MoRPerExpert()
    {
        TTensor gate = softmax(matmul(_x, _wg.t()), -1);
        TTensor h = matmul(_x, _a.t());
        TTensor y = BaseOut();
        for (int i = 0; i < _o.N; i++)
        {
            y = y + (S * gate.narrow(1, i, 1) * (_omegaB[i] * matmul(h * _omegaA[i], _b.t())));
        }

        return y;
    }

    // MOR.md §2: P[t,(i,k)] = g[t,i]·ω_A[i,k]·h[t,k], Q[j,(i,k)] = ω_B[i,j]·B[j,k], y += s·P·Qᵀ.
    private TTensor MoRRankExpanded()
    {
        long nr = (long)_o.N * _o.R;
        TTensor gate = softmax(matmul(_x, _wg.t()), -1);
        TTensor h = matmul(_x, _a.t());
        TTensor p = (gate.unsqueeze(2) * _omegaA.unsqueeze(0) * h.unsqueeze(1)).reshape(_o.T, nr);
        TTensor q = (_omegaB.unsqueeze(2) * _b.unsqueeze(0)).permute(1, 0, 2).reshape(_o.DOut, nr);
        return BaseOut() + (S * matmul(p, q.t()));
    }
}
