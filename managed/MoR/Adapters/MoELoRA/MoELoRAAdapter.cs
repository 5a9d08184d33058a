using MoR.Interop;
using MoR.Modules;
using MoR.Numerics;

namespace MoR.Adapters;

/// <summary>
/// Dense MoE-LoRA (MoELoRA / LoRAMoE style; docs/METHODS.md, MoE-LoRA): N experts with their own A_i [r, in] and
/// B_i [out, r], mixed per token by a softmax router: y = W·x + s·Σ_i g_i·B_i·A_i·x. It shares MoR's
/// kernels: the same gated rank expansion with a per-expert h and no ω scales.
/// </summary>
/// <remarks>
/// Stored as [A_0; …; A_{N−1}; W_g] [N·r + N, in] and B_cat [out, N·r] (column block i is B_i); the
/// file layout of docs/METHODS.md, MoE-LoRA.3, (moe_lora_A [N, r, in], moe_lora_B [N, out, r]) is produced by <see cref="Export"/>.
/// </remarks>
public sealed class MoELoRAAdapter : LinearAdapter<MoELoRAConfig>, IRoutedAdapter
{
    private readonly ActivationBuffer _hz;
    private readonly ActivationBuffer _g;
    private readonly AdapterDropout _dropout;
    private readonly RouterBalanceTerm _balance;

    /// <summary>A fresh adapter: each A_i Kaiming-uniform, each B_i zero, router per <see cref="RoutedAdapterConfig.RouterInit"/>.</summary>
    public MoELoRAAdapter(Device device, int inFeatures, int outFeatures, MoELoRAConfig config, ulong seed)
        : base(config, inFeatures, outFeatures)
    {
        int r = config.Rank, n = config.Experts;
        var rng = new SeededRandom(seed);
        float[] ag = new float[(long)((n * r) + n) * inFeatures];
        AdapterParts.KaimingUniform(ag.AsSpan(0, n * r * inFeatures), inFeatures, rng);
        if (config.RouterInit == RouterInit.Normal)
        {
            rng.FillNormal(ag.AsSpan(n * r * inFeatures), 0.02);
        }

        AG = AdapterParts.NewParameter(device, "moe_lora_A+moe_router", ag, weightDecay: true, (n * r) + n, inFeatures);
        BCat = AdapterParts.NewParameter(device, "moe_lora_B", new float[(long)outFeatures * n * r], weightDecay: true, outFeatures, (long)n * r);
        _hz = new ActivationBuffer((n * r) + n);
        _g = new ActivationBuffer(n);
        _dropout = new AdapterDropout(inFeatures);
        _balance = new RouterBalanceTerm(n * r, n);
    }

    /// <summary>[A_0; …; A_{N−1}; W_g]: [N·r + N, in].</summary>
    public Parameter AG { get; }

    /// <summary>[B_0 | … | B_{N−1}]: [out, N·r].</summary>
    public Parameter BCat { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter> Parameters => [AG, BCat];

    /// <summary>The router's softmax gates of the last forward, [T, N], copied to the host.</summary>
    public float[] LastGates() => _g.Saved("gates").ToArray<float>();

    /// <inheritdoc/>
    public double LastRouterBalance => _balance.LastValue;

    /// <inheritdoc/>
    public override void Forward(Linear baseLayer, Tensor x, Tensor y, AdapterPass pass)
    {
        AdapterParts.CheckInput(this, baseLayer, x, y);
        long t = x.Shape[0];
        Tensor hz = _hz.For(x.Device, t), g = _g.For(x.Device, t);
        x = _dropout.Apply(Config.Dropout, pass.DropoutKey(baseLayer.Name), x);
        NativeCall.Check(
            NativeMethods.mor_moe_lora_forward(x.Device.Context, StreamHandle.Default, t, InFeatures, OutFeatures,
                Config.Rank, Config.Experts, Config.Scale, x.Handle, AG.Value.Handle, BCat.Value.Handle, hz.Handle,
                g.Handle, y.Handle),
            "mor_moe_lora_forward");
    }

    /// <inheritdoc/>
    public override void Backward(Linear baseLayer, Tensor x, Tensor dy, Tensor? dx, AdapterPass pass)
    {
        AdapterParts.CheckInput(this, baseLayer, x, dy);
        _dropout.Backward(x, dx, (input, gradIn) =>
        {
            NativeCall.Check(
                NativeMethods.mor_moe_lora_backward(input.Device.Context, StreamHandle.Default, input.Shape[0], InFeatures,
                    OutFeatures, Config.Rank, Config.Experts, Config.Scale, input.Handle, AG.Value.Handle,
                    BCat.Value.Handle, _hz.Saved("[h|z]").Handle, _g.Saved("gates").Handle, dy.Handle, AG.Grad.Handle,
                    BCat.Grad.Handle, gradIn?.Handle ?? BufferHandle.Null),
                "mor_moe_lora_backward");
            _balance.Backward(pass.RouterBalanceWeight, _g.Saved("gates"), input, AG, gradIn);
        });
    }

    /// <inheritdoc/>
    public override IReadOnlyList<AdapterTensor> Export()
    {
        int r = Config.Rank, n = Config.Experts;
        float[] ag = AG.Value.ToArray<float>();
        float[] bcat = BCat.Value.ToArray<float>();
        float[] b = new float[bcat.Length];  // [out, N·r] -> [N, out, r]
        for (int j = 0; j < OutFeatures; j++)
        {
            for (int i = 0; i < n; i++)
            {
                Array.Copy(bcat, ((long)j * n * r) + (i * r), b, (((long)i * OutFeatures) + j) * r, r);
            }
        }

        return
        [
            new("moe_lora_A", [n, r, InFeatures], AdapterParts.Rows(ag, InFeatures, 0, (long)n * r)),
            new("moe_lora_B", [n, OutFeatures, r], b),
            new("moe_router.weight", [n, InFeatures], AdapterParts.Rows(ag, InFeatures, (long)n * r, n)),
        ];
    }

    /// <inheritdoc/>
    public override void Import(IReadOnlyDictionary<string, AdapterTensor> tensors)
    {
        int r = Config.Rank, n = Config.Experts;
        float[] a = AdapterParts.Take(tensors, "moe_lora_A", n, r, InFeatures);
        float[] wg = AdapterParts.Take(tensors, "moe_router.weight", n, InFeatures);
        float[] b = AdapterParts.Take(tensors, "moe_lora_B", n, OutFeatures, r);
        AG.Value.CopyFrom<float>([.. a, .. wg]);
        float[] bcat = new float[b.Length];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < OutFeatures; j++)
            {
                Array.Copy(b, (((long)i * OutFeatures) + j) * r, bcat, ((long)j * n * r) + (i * r), r);
            }
        }

        BCat.Value.CopyFrom<float>(bcat);
    }

    /// <inheritdoc/>
    public override void MergeInto(Span<double> weight, IReadOnlyList<double>? gate)
    {
        // W + s·Σ_i g_i·B_i·A_i = W + s·[g_0 B_0 | … | g_{N−1} B_{N−1}]·[A_0; …; A_{N−1}] (docs/METHODS.md, MoE-LoRA.3).
        IReadOnlyList<double> g = AdapterParts.RequireGate(this, Config.Experts, gate);
        int r = Config.Rank, n = Config.Experts;
        float[] bcat = BCat.Value.ToArray<float>();
        double[] m = new double[bcat.Length];
        for (int o = 0; o < OutFeatures; o++)
        {
            for (int c = 0; c < n * r; c++) m[((long)o * n * r) + c] = g[c / r] * bcat[((long)o * n * r) + c];
        }

        AdapterParts.AddLowRank(weight, OutFeatures, InFeatures, Config.Scale, m, AdapterParts.Rows(AG.Value.ToArray<float>(), InFeatures, 0, (long)n * r), n * r);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing) => AdapterParts.Dispose([AG, BCat, _hz, _g, _dropout, _balance]);
}
