namespace MoR.Adapters;

/// <summary>
/// An adapter with a dense softmax router over its config's experts (MoR, MoE-LoRA): its gates can be read back, and
/// a pass with a <see cref="AdapterPass.RouterBalanceWeight"/> adds the router balance term's gradient to its backward
/// (docs/METHODS.md, MoR.6).
/// </summary>
public interface IRoutedAdapter : ILinearAdapter
{
    /// <summary>The router's softmax gates of the last forward, [T, N], copied to the host (router analysis).</summary>
    float[] LastGates();

    /// <summary>B = N·Σ_i P_i² of the last backward that had a non-zero balance weight; NaN before one.</summary>
    double LastRouterBalance { get; }
}
