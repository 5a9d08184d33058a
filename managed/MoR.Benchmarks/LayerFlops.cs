using MoR.Adapters;

namespace MoR.Benchmarks;

/// <summary>
/// FLOP counts of one adapted linear layer per token (GEMM work only: each method's
/// <see cref="AdapterFootprint.ForwardFlopsPerToken"/>; the element-wise gate, softmax and Q-building kernels are small
/// and left out).
/// </summary>
/// <remarks>
/// A training step of a frozen base layer is two GEMMs of the forward's size (y = x·Wᵀ and dx = dy·W; no weight
/// gradient). Every adapter GEMM is trainable and sits on the input path, so its backward is two more of the forward's
/// size (parameter gradient and input gradient): three times its forward. The adapter's training-step FLOPs over the
/// base's are the floor under its measured time overhead (≈ 9.9 % for MoR at d_in = 4096, d_out = 11008, N = 8, r = 32;
/// docs/METHODS.md, MoR.4).
/// </remarks>
/// <param name="DIn">Input features.</param>
/// <param name="DOut">Output features.</param>
public readonly record struct LayerFlops(long DIn, long DOut)
{
    /// <summary>The frozen base's forward: 2·d_in·d_out.</summary>
    public double BaseForward => 2.0 * DIn * DOut;

    /// <summary>The adapter's forward alone; 0 for the frozen base (<paramref name="adapter"/> null).</summary>
    public double AdapterForward(AdapterConfig? adapter) =>
        adapter is null ? 0 : adapter.Method.Footprint(adapter, DIn, DOut).ForwardFlopsPerToken;

    /// <summary>Forward + backward per token: 2 × the base's forward + 3 × the adapter's.</summary>
    public double TrainingStep(AdapterConfig? adapter) => (2.0 * BaseForward) + (3.0 * AdapterForward(adapter));

    /// <summary>The adapter's forward FLOPs as a percentage of the base's (MoR ≈ 6.6 %, MoE-LoRA ≈ 8.7 % at 4096/11008/8/32).</summary>
    public double ForwardOverheadPercent(AdapterConfig? adapter) => 100.0 * AdapterForward(adapter) / BaseForward;

    /// <summary>The adapter's forward + backward FLOPs as a percentage of the frozen base's: the floor for its time overhead.</summary>
    public double TrainingStepFloorPercent(AdapterConfig? adapter) => 100.0 * 3.0 * AdapterForward(adapter) / (2.0 * BaseForward);
}
