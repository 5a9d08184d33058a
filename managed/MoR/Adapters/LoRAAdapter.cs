using MoR.Interop;
using MoR.Modules;
using MoR.Numerics;

namespace MoR.Adapters;

/// <summary>LoRA (Hu et al.): y = W·x + s·B(A·x), A [r, in] Kaiming-uniform, B [out, r] zero (MOR.md §4–§5).</summary>
public sealed class LoRAAdapter : ILinearAdapter
{
    private readonly ActivationBuffer _h;

    /// <summary>A fresh adapter for a layer of <paramref name="inFeatures"/> → <paramref name="outFeatures"/>.</summary>
    public LoRAAdapter(Device device, int inFeatures, int outFeatures, AdapterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        int r = options.Rank;
        float[] a = new float[(long)r * inFeatures];
        AdapterParts.KaimingUniform(a, inFeatures, new SeededRandom(options.Seed));
        A = AdapterParts.NewParameter(device, "lora_A", a, weightDecay: true, r, inFeatures);
        B = AdapterParts.NewParameter(device, "lora_B", new float[(long)outFeatures * r], weightDecay: true, outFeatures, r);
        _h = new ActivationBuffer(r);
    }

    /// <inheritdoc/>
    public AdapterKind Kind => AdapterKind.LoRA;

    /// <inheritdoc/>
    public AdapterOptions Options { get; }

    /// <inheritdoc/>
    public int InFeatures { get; }

    /// <inheritdoc/>
    public int OutFeatures { get; }

    /// <summary>[r, in].</summary>
    public Parameter A { get; }

    /// <summary>[out, r].</summary>
    public Parameter B { get; }

    /// <inheritdoc/>
    public IReadOnlyList<Parameter> Parameters => [A, B];

    /// <inheritdoc/>
    public bool ReplacesBaseBackward => false;

    /// <inheritdoc/>
    public void Forward(Linear baseLayer, Tensor x, Tensor y)
    {
        AdapterParts.CheckInput(this, baseLayer, x, y);
        long t = x.Shape[0];
        Tensor h = _h.For(x.Device, t);
        NativeCall.Check(
            NativeMethods.mor_lora_forward(x.Device.Context, StreamHandle.Default, t, InFeatures, OutFeatures, Options.Rank,
                Options.Scale, x.Handle, A.Value.Handle, B.Value.Handle, h.Handle, y.Handle),
            "mor_lora_forward");
    }

    /// <inheritdoc/>
    public void Backward(Linear baseLayer, Tensor x, Tensor dy, Tensor? dx)
    {
        AdapterParts.CheckInput(this, baseLayer, x, dy);
        NativeCall.Check(
            NativeMethods.mor_lora_backward(x.Device.Context, StreamHandle.Default, x.Shape[0], InFeatures, OutFeatures,
                Options.Rank, Options.Scale, x.Handle, A.Value.Handle, B.Value.Handle, _h.Saved("h").Handle, dy.Handle,
                A.Grad.Handle, B.Grad.Handle, dx?.Handle ?? BufferHandle.Null),
            "mor_lora_backward");
    }

    /// <inheritdoc/>
    public void OnParametersChanged()
    {
    }

    /// <inheritdoc/>
    public IReadOnlyList<AdapterTensor> Export() =>
    [
        new("lora_A.weight", [Options.Rank, InFeatures], A.Value.ToArray<float>()),
        new("lora_B.weight", [OutFeatures, Options.Rank], B.Value.ToArray<float>()),
    ];

    /// <inheritdoc/>
    public void Import(IReadOnlyDictionary<string, AdapterTensor> tensors)
    {
        A.Value.CopyFrom<float>(AdapterParts.Take(tensors, "lora_A.weight", Options.Rank, InFeatures));
        B.Value.CopyFrom<float>(AdapterParts.Take(tensors, "lora_B.weight", OutFeatures, Options.Rank));
    }

    /// <inheritdoc/>
    public void Dispose() => AdapterParts.Dispose([A, B, _h]);
}
