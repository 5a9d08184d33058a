namespace MoR.Benchmarks;

/// <summary>
/// FLOP counts of one adapted linear layer per token, from MOR.md §2 (GEMM work only; the elementwise
/// gate, softmax and Q-building kernels are O(N·r + N·d_out) and left out).
/// </summary>
/// <remarks>
/// A training step of a frozen base layer is two GEMMs of the forward's size (y = x·Wᵀ and dx = dy·W;
/// no weight gradient). Every adapter GEMM is trainable and sits on the input path, so its backward is
/// two more of the forward's size (parameter gradient and input gradient): three times its forward.
/// The adapter's training-step FLOPs over the base's are the floor under its measured time overhead
/// (≈ 9.9 % for MoR at d_in = 4096, d_out = 11008, N = 8, r = 32).
/// </remarks>
/// <param name="DIn">Input features.</param>
/// <param name="DOut">Output features.</param>
/// <param name="N">Experts.</param>
/// <param name="R">Rank (per expert for MoE-LoRA).</param>
public readonly record struct LayerFlops(long DIn, long DOut, long N, long R)
{
    /// <summary>The frozen base's forward: 2·d_in·d_out.</summary>
    public double BaseForward => 2.0 * DIn * DOut;

    /// <summary>
    /// The adapter's forward alone: LoRA 2·r·(d_in + d_out); MoE-LoRA 2·N·r·(d_in + d_out) + 2·N·d_in;
    /// MoR 2·(r + N)·d_in + 2·N·r·d_out; 0 for <see cref="LayerMethod.Base"/>.
    /// </summary>
    public double AdapterForward(LayerMethod method) => method switch
    {
        LayerMethod.Base => 0,
        LayerMethod.LoRA => 2.0 * R * (DIn + DOut),
        LayerMethod.MoELoRA => (2.0 * N * R * (DIn + DOut)) + (2.0 * N * DIn),
        LayerMethod.MoR => (2.0 * (R + N) * DIn) + (2.0 * N * R * DOut),
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown layer method."),
    };

    /// <summary>Forward + backward per token: 2 × the base's forward + 3 × the adapter's.</summary>
    public double TrainingStep(LayerMethod method) => (2.0 * BaseForward) + (3.0 * AdapterForward(method));

    /// <summary>The adapter's forward FLOPs as a percentage of the base's (MoR ≈ 6.6 %, MoE-LoRA ≈ 8.7 % at 4096/11008/8/32).</summary>
    public double ForwardOverheadPercent(LayerMethod method) => 100.0 * AdapterForward(method) / BaseForward;

    /// <summary>The adapter's forward + backward FLOPs as a percentage of the frozen base's: the floor for its time overhead.</summary>
    public double TrainingStepFloorPercent(LayerMethod method) => 100.0 * 3.0 * AdapterForward(method) / (2.0 * BaseForward);
}
