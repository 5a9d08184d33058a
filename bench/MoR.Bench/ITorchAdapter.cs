using TorchSharp.Modules;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>An adapter on one frozen projection of the TorchSharp peer: it adds its delta to the base output.</summary>
internal interface ITorchAdapter : IDisposable
{
    /// <summary>The trainable tensors (F32).</summary>
    IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The adapter's contribution for x [..., in]: [..., out], F32, differentiable.</summary>
    TTensor Delta(TTensor x);
}
