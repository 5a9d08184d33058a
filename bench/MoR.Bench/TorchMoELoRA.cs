using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// MoE-LoRA (MOR.md §4), dense, as a user writes it: delta = (α/r)·Σ_i g_i·B_i·A_i·x with g = softmax(W_g x),
/// A [N, r, in], B [N, out, r], router W_g [N, in]; one LoRA per expert in a loop.
/// </summary>
internal sealed class TorchMoELoRA : ITorchAdapter
{
    private readonly double _scale;
    private readonly Parameter _a, _b, _router;

    /// <summary>Takes ownership of the tensors (F32).</summary>
    public TorchMoELoRA(TTensor a, TTensor b, TTensor router, double scale)
    {
        _a = new Parameter(a);
        _b = new Parameter(b);
        _router = new Parameter(router);
        _scale = scale;
    }

    public IReadOnlyList<Parameter> Parameters => [_a, _b, _router];

    public TTensor Delta(TTensor x)
    {
        TTensor gates = softmax(nn.functional.linear(x, _router), -1);
        TTensor? sum = null;
        for (long i = 0; i < _a.shape[0]; i++)
        {
            TTensor term = gates.narrow(-1, i, 1) * nn.functional.linear(nn.functional.linear(x, _a[i]), _b[i]);
            sum = sum is null ? term : sum + term;
        }

        return _scale * sum!;
    }

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        _router.Dispose();
    }
}
