using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// Mixture of Ranks (MOR.md §1) with A [r, in], B [out, r], ω_A [N, r], ω_B [N, out] and router W_g [N, in],
/// in one of two forms that give the same numbers: the paper's sum over experts written term by term, or
/// the rank-expanded product of MOR.md §2. Autograd derives every gradient of both.
/// </summary>
internal sealed class TorchMoR : ITorchAdapter
{
    private readonly double _scale;
    private readonly bool _rankExpanded;
    private readonly Parameter _a, _b, _omegaA, _omegaB, _router;

    /// <summary>Takes ownership of the tensors (F32).</summary>
    public TorchMoR(TTensor a, TTensor b, TTensor omegaA, TTensor omegaB, TTensor router, double scale, bool rankExpanded)
    {
        _a = new Parameter(a);
        _b = new Parameter(b);
        _omegaA = new Parameter(omegaA);
        _omegaB = new Parameter(omegaB);
        _router = new Parameter(router);
        _scale = scale;
        _rankExpanded = rankExpanded;
    }

    public IReadOnlyList<Parameter> Parameters => [_a, _b, _omegaA, _omegaB, _router];

    public TTensor Delta(TTensor x)
    {
        TTensor gates = softmax(nn.functional.linear(x, _router), -1);
        TTensor h = nn.functional.linear(x, _a);
        return _rankExpanded ? RankExpanded(gates, h) : PerExpert(gates, h);
    }

    public void Dispose()
    {
        foreach (Parameter p in Parameters)
        {
            p.Dispose();
        }
    }

    // What a user writes from the paper: Σ_i g_i · ω_B[i] ⊙ (B (ω_A[i] ⊙ h)), h = A x shared by the experts.
    private TTensor PerExpert(TTensor gates, TTensor h)
    {
        long experts = _omegaA.shape[0];
        TTensor? sum = null;
        for (long i = 0; i < experts; i++)
        {
            TTensor term = gates.narrow(-1, i, 1) * (_omegaB[i] * nn.functional.linear(h * _omegaA[i], _b));
            sum = sum is null ? term : sum + term;
        }

        return _scale * sum!;
    }

    // MOR.md §2: P[t,(i,k)] = g[t,i]·ω_A[i,k]·h[t,k], Q[j,(i,k)] = ω_B[i,j]·B[j,k], delta = s·P·Qᵀ.
    private TTensor RankExpanded(TTensor gates, TTensor h)
    {
        long experts = _omegaA.shape[0], rank = _omegaA.shape[1], outFeatures = _b.shape[0];
        long[] pShape = [.. h.shape[..^1], experts * rank];
        TTensor p = (gates.unsqueeze(-1) * _omegaA * h.unsqueeze(-2)).reshape(pShape);
        TTensor q = (_omegaB.unsqueeze(2) * _b.unsqueeze(0)).permute(1, 0, 2).reshape(outFeatures, experts * rank);
        return _scale * nn.functional.linear(p, q);
    }
}
