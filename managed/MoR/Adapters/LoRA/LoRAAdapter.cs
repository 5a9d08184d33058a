using MoR.Interop;
using MoR.Modules;
using MoR.Numerics;

namespace MoR.Adapters;

/// <summary>LoRA (Hu et al.): y = W·x + s·B(A·x), A [r, in] Kaiming-uniform, B [out, r] zero (docs/METHODS.md, LoRA).</summary>
public sealed class LoRAAdapter : LinearAdapter<LoRAConfig>
{
    private readonly ActivationBuffer _h;
    private readonly AdapterDropout _dropout;

    /// <summary>A fresh adapter for a layer of <paramref name="inFeatures"/> → <paramref name="outFeatures"/>.</summary>
    public LoRAAdapter(Device device, int inFeatures, int outFeatures, LoRAConfig config, ulong seed)
        : base(config, inFeatures, outFeatures)
    {
        int r = config.Rank;
        float[] a = new float[(long)r * inFeatures];
        AdapterParts.KaimingUniform(a, inFeatures, new SeededRandom(seed));
        A = AdapterParts.NewParameter(device, "lora_A", a, weightDecay: true, r, inFeatures);
        B = AdapterParts.NewParameter(device, "lora_B", new float[(long)outFeatures * r], weightDecay: true, outFeatures, r);
        _h = new ActivationBuffer(r);
        _dropout = new AdapterDropout(inFeatures);
    }

    /// <summary>[r, in].</summary>
    public Parameter A { get; }

    /// <summary>[out, r].</summary>
    public Parameter B { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter> Parameters => [A, B];

    /// <inheritdoc/>
    public override void Forward(Linear baseLayer, Tensor x, Tensor y, AdapterPass pass)
    {
        AdapterParts.CheckInput(this, baseLayer, x, y);
        long t = x.Shape[0];
        Tensor h = _h.For(x.Device, t);
        x = _dropout.Apply(Config.Dropout, pass.DropoutKey(baseLayer.Name), x);
        NativeCall.Check(
            NativeMethods.mor_lora_forward(x.Device.Context, StreamHandle.Default, t, InFeatures, OutFeatures, Config.Rank,
                Config.Scale, x.Handle, A.Value.Handle, B.Value.Handle, h.Handle, y.Handle),
            "mor_lora_forward");
    }

    /// <inheritdoc/>
    public override void Backward(Linear baseLayer, Tensor x, Tensor dy, Tensor? dx, AdapterPass pass)
    {
        AdapterParts.CheckInput(this, baseLayer, x, dy);
        _dropout.Backward(x, dx, (input, gradIn) =>
            NativeCall.Check(
                NativeMethods.mor_lora_backward(input.Device.Context, StreamHandle.Default, input.Shape[0], InFeatures,
                    OutFeatures, Config.Rank, Config.Scale, input.Handle, A.Value.Handle, B.Value.Handle,
                    _h.Saved("h").Handle, dy.Handle, A.Grad.Handle, B.Grad.Handle, gradIn?.Handle ?? BufferHandle.Null),
                "mor_lora_backward"));
    }

    /// <inheritdoc/>
    public override IReadOnlyList<AdapterTensor> Export() =>
    [
        new("lora_A.weight", [Config.Rank, InFeatures], A.Value.ToArray<float>()),
        new("lora_B.weight", [OutFeatures, Config.Rank], B.Value.ToArray<float>()),
    ];

    /// <inheritdoc/>
    public override void Import(IReadOnlyDictionary<string, AdapterTensor> tensors)
    {
        A.Value.CopyFrom<float>(AdapterParts.Take(tensors, "lora_A.weight", Config.Rank, InFeatures));
        B.Value.CopyFrom<float>(AdapterParts.Take(tensors, "lora_B.weight", OutFeatures, Config.Rank));
    }

    /// <inheritdoc/>
    public override void MergeInto(Span<double> weight, IReadOnlyList<double>? gate)
    {
        AdapterParts.RequireNoGate(this, gate);
        AdapterParts.AddLowRank(weight, OutFeatures, InFeatures, Config.Scale, AdapterParts.ToDouble(B.Value.ToArray<float>()), A.Value.ToArray<float>(), Config.Rank);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing) => AdapterParts.Dispose([A, B, _h, _dropout]);
}
