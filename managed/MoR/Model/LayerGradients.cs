namespace MoR.Model;

/// <summary>
/// Gradient scratch for one layer's backward, shared by all layers (backward visits them one at a time).
/// Every native backward ACCUMULATES, so each buffer is zeroed right before the op that fills it.
/// </summary>
internal sealed class LayerGradients : IDisposable
{
    public LayerGradients(Device device, LlamaDims dims, long t)
    {
        DXn = Tensor.Empty(device, DType.F32, t, dims.Hidden);
        DAct = Tensor.Empty(device, DType.F32, t, dims.Intermediate);
        DGate = Tensor.Empty(device, DType.F32, t, dims.Intermediate);
        DUp = Tensor.Empty(device, DType.F32, t, dims.Intermediate);
        DAttn = Tensor.Empty(device, DType.F32, t, dims.QWidth);
        DQ = Tensor.Empty(device, DType.F32, t, dims.QWidth);
        DK = Tensor.Empty(device, DType.F32, t, dims.KvWidth);
        DV = Tensor.Empty(device, DType.F32, t, dims.KvWidth);
    }

    /// <summary>Gradient of a normed input (xn1 or xn2), before the norm's backward.</summary>
    public Tensor DXn { get; }

    public Tensor DAct { get; }

    public Tensor DGate { get; }

    public Tensor DUp { get; }

    public Tensor DAttn { get; }

    public Tensor DQ { get; }

    public Tensor DK { get; }

    public Tensor DV { get; }

    public void Dispose()
    {
        foreach (Tensor t in new[] { DXn, DAct, DGate, DUp, DAttn, DQ, DK, DV })
        {
            t.Dispose();
        }
    }
}
