using MoR.Interop;
using MoR.Modules;
using MoR.Numerics;

namespace MoR.Adapters;

/// <summary>
/// DoRA (Liu et al.) with PEFT's semantics: W' = m ⊙ (W + s·B·A) / ‖W + s·B·A‖_row, so
/// y = (m / n) ⊙ (W·x + s·B·A·x) with the row norm n treated as a constant in backward (DoRA §4.3,
/// PEFT's default). m [out] starts at ‖W‖_row, so the adapted layer starts equal to the base.
/// </summary>
/// <remarks>The norm is computed without forming W + s·B·A: ‖W_j‖² + 2s·B_j·(W·Aᵀ)_j + s²·B_j·(A·Aᵀ)·B_jᵀ.</remarks>
public sealed class DoRAAdapter : LinearAdapter<DoRAConfig>
{
    private readonly Tensor _wNorm2;
    private readonly Tensor _norm;
    private readonly ActivationBuffer _h;
    private readonly ActivationBuffer _u;
    private readonly AdapterDropout _dropout;

    /// <summary>A fresh adapter for <paramref name="baseLayer"/> (its weight sets the initial magnitude).</summary>
    public DoRAAdapter(Linear baseLayer, DoRAConfig config, ulong seed)
        : base(config, NotNull(baseLayer).InFeatures, baseLayer.OutFeatures)
    {
        Device device = baseLayer.Weight.Device;
        int r = config.Rank;
        _wNorm2 = Tensor.Empty(device, DType.F32, OutFeatures);
        NativeCall.Check(
            NativeMethods.mor_row_norm2(device.Context, StreamHandle.Default, OutFeatures, InFeatures,
                baseLayer.Weight.Handle, _wNorm2.Handle),
            "mor_row_norm2");
        float[] m = _wNorm2.ToArray<float>();
        for (int j = 0; j < m.Length; j++)
        {
            m[j] = MathF.Sqrt(m[j]);
        }

        float[] a = new float[(long)r * InFeatures];
        AdapterParts.KaimingUniform(a, InFeatures, new SeededRandom(seed));
        A = AdapterParts.NewParameter(device, "lora_A", a, weightDecay: true, r, InFeatures);
        B = AdapterParts.NewParameter(device, "lora_B", new float[(long)OutFeatures * r], weightDecay: true, OutFeatures, r);
        Magnitude = AdapterParts.NewParameter(device, "lora_magnitude_vector", m, weightDecay: false, OutFeatures);
        _norm = Tensor.Empty(device, DType.F32, OutFeatures);
        _h = new ActivationBuffer(r);
        _u = new ActivationBuffer(OutFeatures);
        _dropout = new AdapterDropout(InFeatures);
    }

    /// <summary>[r, in].</summary>
    public Parameter A { get; }

    /// <summary>[out, r].</summary>
    public Parameter B { get; }

    /// <summary>m: [out].</summary>
    public Parameter Magnitude { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter> Parameters => [A, B, Magnitude];

    /// <inheritdoc/>
    public override bool ReplacesBaseBackward => true;

    /// <inheritdoc/>
    public override void Forward(Linear baseLayer, Tensor x, Tensor y, AdapterPass pass)
    {
        AdapterParts.CheckInput(this, baseLayer, x, y);
        long t = x.Shape[0];
        Tensor h = _h.For(x.Device, t), u = _u.For(x.Device, t);
        Ops.Copy(y, u);  // u starts as W·x; the op makes it W·x + s·B·A·x and writes y = (m/n)·u
        x = _dropout.Apply(Config.Dropout, pass.DropoutKey(baseLayer.Name), x);  // PEFT: only the LoRA term sees dropout(x); W·x is already in u
        NativeCall.Check(
            NativeMethods.mor_dora_forward(x.Device.Context, StreamHandle.Default, t, InFeatures, OutFeatures, Config.Rank,
                Config.Scale, x.Handle, baseLayer.Weight.Handle, _wNorm2.Handle, A.Value.Handle, B.Value.Handle,
                Magnitude.Value.Handle, h.Handle, _norm.Handle, u.Handle, y.Handle),
            "mor_dora_forward");
    }

    /// <inheritdoc/>
    public override void Backward(Linear baseLayer, Tensor x, Tensor dy, Tensor? dx, AdapterPass pass)
    {
        AdapterParts.CheckInput(this, baseLayer, x, dy);
        Tensor input = _dropout.Input(x);
        if (!_dropout.Active || dx is null)
        {
            Run(Config.Scale, Magnitude.Grad, A.Grad, B.Grad, dx);
            return;
        }

        // dx = P + mask(L): the frozen path P = (c⊙dy)·W is unmasked, only the LoRA path L is masked. The op
        // gives P + L; a second call with scale 0 (its parameter gradients go to scratch) gives P alone.
        using Tensor both = AdapterDropout.ZeroedLike(x), basePath = AdapterDropout.ZeroedLike(x);
        Run(Config.Scale, Magnitude.Grad, A.Grad, B.Grad, both);
        using (Tensor dm = Tensor.Empty(x.Device, DType.F32, OutFeatures), da = Tensor.Empty(x.Device, DType.F32, A.Grad.Shape),
            db = Tensor.Empty(x.Device, DType.F32, B.Grad.Shape))
        {
            Run(0f, dm, da, db, basePath);
        }

        Ops.Axpy(-1f, basePath, both);  // both = L
        Ops.Axpy(1f, basePath, dx);
        _dropout.AddMasked(both, dx);

        void Run(float scale, Tensor dm, Tensor da, Tensor db, Tensor? gradIn) =>
            NativeCall.Check(
                NativeMethods.mor_dora_backward(x.Device.Context, StreamHandle.Default, x.Shape[0], InFeatures,
                    OutFeatures, Config.Rank, scale, input.Handle, baseLayer.Weight.Handle, A.Value.Handle,
                    B.Value.Handle, Magnitude.Value.Handle, _h.Saved("h").Handle, _norm.Handle, _u.Saved("u").Handle,
                    dy.Handle, dm.Handle, da.Handle, db.Handle, gradIn?.Handle ?? BufferHandle.Null),
                "mor_dora_backward");
    }

    /// <inheritdoc/>
    public override IReadOnlyList<AdapterTensor> Export() =>
    [
        new("lora_A.weight", [Config.Rank, InFeatures], A.Value.ToArray<float>()),
        new("lora_B.weight", [OutFeatures, Config.Rank], B.Value.ToArray<float>()),
        new("lora_magnitude_vector", [OutFeatures], Magnitude.Value.ToArray<float>()),
    ];

    /// <inheritdoc/>
    public override void Import(IReadOnlyDictionary<string, AdapterTensor> tensors)
    {
        A.Value.CopyFrom<float>(AdapterParts.Take(tensors, "lora_A.weight", Config.Rank, InFeatures));
        B.Value.CopyFrom<float>(AdapterParts.Take(tensors, "lora_B.weight", OutFeatures, Config.Rank));
        Magnitude.Value.CopyFrom<float>(AdapterParts.Take(tensors, "lora_magnitude_vector", OutFeatures));
    }

    /// <inheritdoc/>
    public override void MergeInto(Span<double> weight, IReadOnlyList<double>? gate)
    {
        // W' = diag(m / ‖W + s·B·A‖_row)·(W + s·B·A) (docs/METHODS.md, DoRA.3).
        AdapterParts.RequireNoGate(this, gate);
        AdapterParts.AddLowRank(weight, OutFeatures, InFeatures, Config.Scale, AdapterParts.ToDouble(B.Value.ToArray<float>()), A.Value.ToArray<float>(), Config.Rank);
        float[] m = Magnitude.Value.ToArray<float>();
        for (int o = 0; o < OutFeatures; o++)
        {
            Span<double> row = weight.Slice(o * InFeatures, InFeatures);
            double norm2 = 0;
            foreach (double v in row) norm2 += v * v;
            double scale = m[o] / Math.Sqrt(norm2);
            for (int c = 0; c < row.Length; c++) row[c] *= scale;
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing) => AdapterParts.Dispose([A, B, Magnitude, _wNorm2, _norm, _h, _u, _dropout]);

    private static Linear NotNull(Linear baseLayer) => baseLayer ?? throw new ArgumentNullException(nameof(baseLayer));
}
