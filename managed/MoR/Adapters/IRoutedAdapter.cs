namespace MoR.Adapters;

/// <summary>
/// An adapter with a dense softmax router over <see cref="AdapterOptions.Experts"/> experts (MoR, MoE-LoRA): its
/// gates can be read back, and its backward can add the gradient of the router balance term
/// (<see cref="RouterBalanceLoss"/>).
/// </summary>
public interface IRoutedAdapter : ILinearAdapter
{
    /// <summary>The router's softmax gates of the last forward, [T, N], copied to the host.</summary>
    float[] LastGates();

    /// <summary>
    /// The weight w of this layer's balance term B = N·Σ_i P_i² in the loss being differentiated: every
    /// <see cref="ILinearAdapter.Backward"/> then also accumulates w·∂B/∂W_g into the router rows and w·∂B/∂x into
    /// dx. 0 (the default) computes nothing, so gradients stay bit-identical to an adapter without the term.
    /// </summary>
    float RouterBalanceWeight { get; set; }

    /// <summary>B of the last backward run with a non-zero <see cref="RouterBalanceWeight"/>; NaN before one.</summary>
    double LastRouterBalance { get; }
}
