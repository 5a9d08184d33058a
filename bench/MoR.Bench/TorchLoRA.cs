using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>LoRA (MOR.md §4): delta = (α/r)·B·A·x, A [r, in], B [out, r].</summary>
internal sealed class TorchLoRA : ITorchAdapter
{
    private readonly double _scale;
    private readonly Parameter _a, _b;

    /// <summary>Takes ownership of <paramref name="a"/> and <paramref name="b"/> (F32).</summary>
    public TorchLoRA(TTensor a, TTensor b, double scale)
    {
        _a = new Parameter(a);
        _b = new Parameter(b);
        _scale = scale;
    }

    public IReadOnlyList<Parameter> Parameters => [_a, _b];

    public TTensor Delta(TTensor x) => _scale * nn.functional.linear(nn.functional.linear(x, _a), _b);

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }
}
