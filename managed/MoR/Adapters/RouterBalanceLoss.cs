namespace MoR.Adapters;

/// <summary>
/// The router load-balancing term of one routed layer (MoR, MoE-LoRA) for dense softmax gates: the Switch /
/// ST-MoE balance loss N·Σ_i f_i·P_i with both the dispatch fraction f_i and the router probability P_i taken
/// as the mean gate, since dense routing dispatches every token to every expert with weight g[t,i]:
/// <code>
/// P_i = (1/T)·Σ_t g[t,i]        B = N·Σ_i P_i²        1 ≤ B ≤ N, B = 1 exactly at uniform usage (P_i = 1/N)
/// ∂B/∂g[t,i] = 2N·P_i / T       (the same for every token)
/// ∂B/∂z[t,i] = g[t,i]·(c_i − Σ_j g[t,j]·c_j),  c_i = 2N·P_i / T     (softmax backward, z = router logits)
/// </code>
/// The trainer adds α·(mean of B over routed layers) to the objective (docs/TRAINING.md), so its value at
/// uniform gates is α whatever N or the layer count. It only looks at the expert totals P: a router may still
/// send different tokens to different experts, as long as every expert is used equally overall.
/// </summary>
/// <remarks>
/// Computed on the host in float64 from the gates the forward saved ([T, N], small next to the layer's
/// activations): the fused native backward has no auxiliary-loss input, and the ABI stays unchanged. The
/// logit gradient then reaches W_g and x through two GEMMs (<see cref="RouterBalanceTerm"/>).
/// </remarks>
public static class RouterBalanceLoss
{
    /// <summary>
    /// B = N·Σ_i P_i² of <paramref name="gates"/> [T, N] (row-major, rows summing to 1); when
    /// <paramref name="dLogits"/> is not empty it receives <paramref name="gradScale"/>·∂B/∂z [T, N].
    /// </summary>
    /// <param name="gates">Softmax gates g[t, i].</param>
    /// <param name="experts">N.</param>
    /// <param name="gradScale">Multiplies the logit gradient (the weight of this layer's B in the loss).</param>
    /// <param name="dLogits">Output, [T, N], overwritten; or empty for the value only.</param>
    /// <returns>B (≥ 1; 1 at uniform usage).</returns>
    public static double Compute(ReadOnlySpan<float> gates, int experts, double gradScale, Span<float> dLogits)
    {
        if (experts < 1 || gates.Length % experts != 0)
        {
            throw new ArgumentException($"{gates.Length} gate values are not a whole number of rows of {experts} experts.", nameof(gates));
        }

        int tokens = gates.Length / experts;
        if (tokens == 0)
        {
            return double.NaN;
        }

        if (!dLogits.IsEmpty && dLogits.Length != gates.Length)
        {
            throw new ArgumentException($"dLogits has {dLogits.Length} values; the gates have {gates.Length}.", nameof(dLogits));
        }

        double[] p = new double[experts];
        for (int t = 0; t < tokens; t++)
        {
            for (int i = 0; i < experts; i++)
            {
                p[i] += gates[(t * experts) + i];
            }
        }

        double balance = 0;
        for (int i = 0; i < experts; i++)
        {
            p[i] /= tokens;
            balance += p[i] * p[i];
        }

        balance *= experts;
        if (dLogits.IsEmpty)
        {
            return balance;
        }

        double[] c = new double[experts];
        for (int i = 0; i < experts; i++)
        {
            c[i] = gradScale * 2.0 * experts * p[i] / tokens;
        }

        for (int t = 0; t < tokens; t++)
        {
            ReadOnlySpan<float> g = gates.Slice(t * experts, experts);
            double gc = 0;
            for (int j = 0; j < experts; j++)
            {
                gc += g[j] * c[j];
            }

            for (int i = 0; i < experts; i++)
            {
                dLogits[(t * experts) + i] = (float)(g[i] * (c[i] - gc));
            }
        }

        return balance;
    }
}
