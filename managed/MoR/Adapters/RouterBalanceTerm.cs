using MoR.Modules;

namespace MoR.Adapters;

/// <summary>
/// The router balance term inside one routed adapter: its weight, its last value and its backward. The router
/// W_g is rows [<paramref name="routerRow"/>, routerRow + N) of the adapter's [rows, in] parameter ([A ; W_g]
/// for MoR, [A_0; …; A_{N−1}; W_g] for MoE-LoRA), so one parameter receives both gradients.
/// </summary>
/// <param name="routerRow">The first router row of the shared parameter.</param>
/// <param name="experts">N.</param>
internal sealed class RouterBalanceTerm(int routerRow, int experts) : IDisposable
{
    private readonly ActivationBuffer _dz = new(experts);

    public double LastValue { get; private set; } = double.NaN;

    /// <summary>
    /// With a non-zero weight w: dz = w·∂B/∂z from the saved <paramref name="gates"/> [T, N], then
    /// dW_g += dzᵀ·x and (when <paramref name="dx"/> is given) dx += dz·W_g. <paramref name="x"/> is the input the
    /// router saw (after adapter dropout) and <paramref name="dx"/> the gradient that input accumulates into.
    /// </summary>
    public void Backward(float weight, Tensor gates, Tensor x, Parameter routerOwner, Tensor? dx)
    {
        if (weight == 0f)
        {
            return;
        }

        long t = x.Shape[0], inFeatures = x.Shape[1];
        float[] g = gates.ToArray<float>();
        float[] dz = new float[g.Length];
        LastValue = RouterBalanceLoss.Compute(g, experts, weight, dz);
        Tensor dzDevice = _dz.For(x.Device, t);
        dzDevice.CopyFrom<float>(dz);
        long wg = (long)routerRow * inFeatures;
        // dW_g [N, in] += dzᵀ [N, T] · x [T, in], written straight into the router rows of the shared gradient.
        Ops.Gemm(true, false, experts, inFeatures, t, 1f, dzDevice, 0, experts, x, 0, inFeatures, 1f, routerOwner.Grad, wg, inFeatures);
        if (dx is not null)
        {
            // dx [T, in] += dz [T, N] · W_g [N, in].
            Ops.Gemm(false, false, t, inFeatures, experts, 1f, dzDevice, 0, experts, routerOwner.Value, wg, inFeatures, 1f, dx, 0, inFeatures);
        }
    }

    public void Dispose() => _dz.Dispose();
}
