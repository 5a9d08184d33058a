using MoR.Interop;
using MoR.Modules;
using MoR.Numerics;

namespace MoR.Adapters;

/// <summary>
/// Mixture of Ranks (Tang et al., arXiv 2410.13408; docs/METHODS.md, MoR): experts share A [r, in] and B [out, r] and
/// differ by learned scales, expert i = s·diag(ω_B[i])·B·diag(ω_A[i])·A, mixed per token by a dense
/// softmax router W_g [N, in]. Computed in the rank-expanded form: [h | z] = x·[A ; W_g]ᵀ, then
/// y += s·P·Qᵀ with P[t,(i,k)] = g[t,i]·ω_A[i,k]·h[t,k] and Q[j,(i,k)] = ω_B[i,j]·B[j,k].
/// </summary>
/// <remarks>
/// A and W_g live in one [r + N, in] parameter so that one GEMM gives h and the router logits and one
/// GEMM gives both gradients; <see cref="Export"/> splits it into PEFT-style tensors. Q is rebuilt lazily
/// after <see cref="OnParametersChanged"/>. With B = 0 at start, dA = dω_A = dω_B = dW_g = 0 on the
/// first step: only B moves first (docs/METHODS.md, MoR.5).
/// </remarks>
public sealed class MoRAdapter : LinearAdapter<MoRConfig>, IRoutedAdapter
{
    private readonly ActivationBuffer _hz;
    private readonly ActivationBuffer _g;
    private readonly Tensor _q;
    private readonly AdapterDropout _dropout;
    private readonly RouterBalanceTerm _balance;
    private bool _qStale = true;

    /// <summary>A fresh adapter initialised as docs/METHODS.md, MoR.5, says.</summary>
    public MoRAdapter(Device device, int inFeatures, int outFeatures, MoRConfig config, ulong seed)
        : base(config, inFeatures, outFeatures)
    {
        int r = config.Rank, n = config.Experts;
        var rng = new SeededRandom(seed);
        float[] ag = new float[(long)(r + n) * inFeatures];
        AdapterParts.KaimingUniform(ag.AsSpan(0, r * inFeatures), inFeatures, rng);
        if (config.RouterInit == RouterInit.Normal)
        {
            rng.FillNormal(ag.AsSpan(r * inFeatures), 0.02);
        }

        AG = AdapterParts.NewParameter(device, "lora_A+mor_router", ag, weightDecay: true, r + n, inFeatures);
        OmegaA = AdapterParts.NewParameter(device, "mor_omega_A", AdapterParts.Filled((long)n * r, 1f), weightDecay: false, n, r);
        B = AdapterParts.NewParameter(device, "lora_B", new float[(long)outFeatures * r], weightDecay: true, outFeatures, r);
        OmegaB = AdapterParts.NewParameter(device, "mor_omega_B", AdapterParts.Filled((long)n * outFeatures, 1f), weightDecay: false, n, outFeatures);
        _q = Tensor.Empty(device, DType.F32, outFeatures, (long)n * r);
        _hz = new ActivationBuffer(r + n);
        _g = new ActivationBuffer(n);
        _dropout = new AdapterDropout(inFeatures);
        _balance = new RouterBalanceTerm(r, n);
    }

    /// <summary>[A ; W_g]: [r + N, in].</summary>
    public Parameter AG { get; }

    /// <summary>ω_A: [N, r].</summary>
    public Parameter OmegaA { get; }

    /// <summary>B: [out, r].</summary>
    public Parameter B { get; }

    /// <summary>ω_B: [N, out].</summary>
    public Parameter OmegaB { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter> Parameters => [AG, OmegaA, B, OmegaB];

    /// <summary>The router's softmax gates of the last forward, [T, N], copied to the host (router analysis).</summary>
    public float[] LastGates() => _g.Saved("gates").ToArray<float>();

    /// <inheritdoc/>
    public double LastRouterBalance => _balance.LastValue;

    /// <inheritdoc/>
    public override void Forward(Linear baseLayer, Tensor x, Tensor y, AdapterPass pass)
    {
        AdapterParts.CheckInput(this, baseLayer, x, y);
        long t = x.Shape[0];
        EnsureQ();
        Tensor hz = _hz.For(x.Device, t), g = _g.For(x.Device, t);
        x = _dropout.Apply(Config.Dropout, pass.DropoutKey(baseLayer.Name), x);
        NativeCall.Check(
            NativeMethods.mor_forward(x.Device.Context, StreamHandle.Default, t, InFeatures, OutFeatures, Config.Rank,
                Config.Experts, Config.Scale, x.Handle, AG.Value.Handle, OmegaA.Value.Handle, _q.Handle, hz.Handle,
                g.Handle, y.Handle),
            "mor_forward");
    }

    /// <inheritdoc/>
    public override void Backward(Linear baseLayer, Tensor x, Tensor dy, Tensor? dx, AdapterPass pass)
    {
        AdapterParts.CheckInput(this, baseLayer, x, dy);
        EnsureQ();
        _dropout.Backward(x, dx, (input, gradIn) =>
        {
            NativeCall.Check(
                NativeMethods.mor_backward(input.Device.Context, StreamHandle.Default, input.Shape[0], InFeatures,
                    OutFeatures, Config.Rank, Config.Experts, Config.Scale, input.Handle, AG.Value.Handle,
                    OmegaA.Value.Handle, B.Value.Handle, OmegaB.Value.Handle, _q.Handle, _hz.Saved("[h|z]").Handle,
                    _g.Saved("gates").Handle, dy.Handle, AG.Grad.Handle, OmegaA.Grad.Handle, B.Grad.Handle,
                    OmegaB.Grad.Handle, gradIn?.Handle ?? BufferHandle.Null),
                "mor_backward");
            // The balance term's router gradient joins the fused one inside the dropout scope: same input, same dx mask.
            _balance.Backward(pass.RouterBalanceWeight, _g.Saved("gates"), input, AG, gradIn);
        });
    }

    /// <inheritdoc/>
    public override void OnParametersChanged() => _qStale = true;

    /// <inheritdoc/>
    public override IReadOnlyList<AdapterTensor> Export()
    {
        int r = Config.Rank, n = Config.Experts;
        float[] ag = AG.Value.ToArray<float>();
        return
        [
            new("lora_A.weight", [r, InFeatures], AdapterParts.Rows(ag, InFeatures, 0, r)),
            new("lora_B.weight", [OutFeatures, r], B.Value.ToArray<float>()),
            new("mor_omega_A", [n, r], OmegaA.Value.ToArray<float>()),
            new("mor_omega_B", [n, OutFeatures], OmegaB.Value.ToArray<float>()),
            new("mor_router.weight", [n, InFeatures], AdapterParts.Rows(ag, InFeatures, r, n)),
        ];
    }

    /// <inheritdoc/>
    public override void Import(IReadOnlyDictionary<string, AdapterTensor> tensors)
    {
        int r = Config.Rank, n = Config.Experts;
        float[] a = AdapterParts.Take(tensors, "lora_A.weight", r, InFeatures);
        float[] wg = AdapterParts.Take(tensors, "mor_router.weight", n, InFeatures);
        AG.Value.CopyFrom<float>([.. a, .. wg]);
        B.Value.CopyFrom<float>(AdapterParts.Take(tensors, "lora_B.weight", OutFeatures, r));
        OmegaA.Value.CopyFrom<float>(AdapterParts.Take(tensors, "mor_omega_A", n, r));
        OmegaB.Value.CopyFrom<float>(AdapterParts.Take(tensors, "mor_omega_B", n, OutFeatures));
        OnParametersChanged();
    }

    /// <inheritdoc/>
    public override void MergeInto(Span<double> weight, IReadOnlyList<double>? gate)
    {
        // W + s·M·A with M[o, c] = Σ_i g_i·ω_B[i, o]·B[o, c]·ω_A[i, c] (docs/METHODS.md, MoR.7).
        IReadOnlyList<double> g = AdapterParts.RequireGate(this, Config.Experts, gate);
        int r = Config.Rank, n = Config.Experts;
        float[] b = B.Value.ToArray<float>(), wa = OmegaA.Value.ToArray<float>(), wb = OmegaB.Value.ToArray<float>();
        double[] m = new double[(long)OutFeatures * r];
        for (int o = 0; o < OutFeatures; o++)
        {
            for (int c = 0; c < r; c++)
            {
                double sum = 0;
                for (int i = 0; i < n; i++) sum += g[i] * wb[((long)i * OutFeatures) + o] * wa[(i * r) + c];
                m[((long)o * r) + c] = sum * b[((long)o * r) + c];
            }
        }

        AdapterParts.AddLowRank(weight, OutFeatures, InFeatures, Config.Scale, m, AdapterParts.Rows(AG.Value.ToArray<float>(), InFeatures, 0, r), r);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing) => AdapterParts.Dispose([AG, OmegaA, B, OmegaB, _q, _hz, _g, _dropout, _balance]);

    private void EnsureQ()
    {
        if (!_qStale)
        {
            return;
        }

        NativeCall.Check(
            NativeMethods.mor_build_q(_q.Device.Context, StreamHandle.Default, OutFeatures, Config.Rank, Config.Experts,
                B.Value.Handle, OmegaB.Value.Handle, _q.Handle),
            "mor_build_q");
        _qStale = false;
    }
}
