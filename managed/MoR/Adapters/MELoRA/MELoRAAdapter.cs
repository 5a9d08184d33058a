using MoR.Modules;
using MoR.Numerics;

namespace MoR.Adapters;

/// <summary>
/// MELoRA: n mini LoRAs on the block diagonal, y[:, iq:(i+1)q] += s·B_i(A_i·x[:, ip:(i+1)p]) with A_i [r, p]
/// Kaiming-uniform over the mini width p and B_i [q, r] zero (docs/METHODS.md, MELoRA). Every product is one strided
/// batched GEMM over the n blocks, so the method needs no kernels of its own on either backend.
/// </summary>
public sealed class MELoRAAdapter : LinearAdapter<MELoRAConfig>
{
    private readonly int _p, _q;
    private readonly ActivationBuffer _h, _gh;
    private readonly AdapterDropout _dropout;

    /// <summary>A fresh adapter for a layer of <paramref name="inFeatures"/> → <paramref name="outFeatures"/>.</summary>
    public MELoRAAdapter(Device device, int inFeatures, int outFeatures, MELoRAConfig config, ulong seed)
        : base(config, inFeatures, outFeatures)
    {
        (_p, _q) = config.BlockSizes(inFeatures, outFeatures);
        int n = config.Blocks, r = config.Rank;
        float[] a = new float[(long)n * r * _p];
        var rng = new SeededRandom(seed);
        for (int i = 0; i < n; i++)
        {
            // Each mini A is its own nn.Linear(p, r) in the authors' code: fan-in p.
            AdapterParts.KaimingUniform(a.AsSpan(i * r * _p, r * _p), _p, rng);
        }

        A = AdapterParts.NewParameter(device, "melora_A", a, weightDecay: true, n, r, _p);
        B = AdapterParts.NewParameter(device, "melora_B", new float[(long)n * _q * r], weightDecay: true, n, _q, r);
        _h = new ActivationBuffer((long)n * r);
        _gh = new ActivationBuffer((long)n * r);
        _dropout = new AdapterDropout(inFeatures);
    }

    /// <summary>The mini A_i, [n, r, p].</summary>
    public Parameter A { get; }

    /// <summary>The mini B_i, [n, q, r].</summary>
    public Parameter B { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter> Parameters => [A, B];

    private int Blocks => Config.Blocks;

    private int Width => Blocks * Config.Rank;

    /// <inheritdoc/>
    public override void Forward(Linear baseLayer, Tensor x, Tensor y, AdapterPass pass)
    {
        AdapterParts.CheckInput(this, baseLayer, x, y);
        long t = x.Shape[0];
        int r = Config.Rank;
        Tensor h = _h.For(x.Device, t);
        x = _dropout.Apply(Config.Dropout, pass.DropoutKey(baseLayer.Name), x);
        // H_i = X_i·A_iᵀ, then Y_i += s·H_i·B_iᵀ.
        Ops.Gemm(false, true, t, r, _p, 1f, x, 0, InFeatures, _p, A.Value, 0, _p, (long)r * _p, 0f, h, 0, Width, r, Blocks);
        Ops.Gemm(false, true, t, _q, r, Config.Scale, h, 0, Width, r, B.Value, 0, r, (long)_q * r, 1f, y, 0, OutFeatures, _q, Blocks);
    }

    /// <inheritdoc/>
    public override void Backward(Linear baseLayer, Tensor x, Tensor dy, Tensor? dx, AdapterPass pass)
    {
        AdapterParts.CheckInput(this, baseLayer, x, dy);
        long t = x.Shape[0];
        int r = Config.Rank;
        float s = Config.Scale;
        Tensor h = _h.Saved("H");
        Tensor gh = _gh.For(x.Device, t);
        _dropout.Backward(x, dx, (input, gradIn) =>
        {
            // dB_i += s·G_iᵀ·H_i;  G_H,i = s·G_i·B_i;  dA_i += G_H,iᵀ·X_i;  dX_i += G_H,i·A_i.
            Ops.Gemm(true, false, _q, r, t, s, dy, 0, OutFeatures, _q, h, 0, Width, r, 1f, B.Grad, 0, r, (long)_q * r, Blocks);
            Ops.Gemm(false, false, t, r, _q, s, dy, 0, OutFeatures, _q, B.Value, 0, r, (long)_q * r, 0f, gh, 0, Width, r, Blocks);
            Ops.Gemm(true, false, r, _p, t, 1f, gh, 0, Width, r, input, 0, InFeatures, _p, 1f, A.Grad, 0, _p, (long)r * _p, Blocks);
            if (gradIn is not null)
            {
                Ops.Gemm(false, false, t, _p, r, 1f, gh, 0, Width, r, A.Value, 0, _p, (long)r * _p, 1f, gradIn, 0, InFeatures, _p, Blocks);
            }
        });
    }

    /// <inheritdoc/>
    public override IReadOnlyList<AdapterTensor> Export()
    {
        float[] a = A.Value.ToArray<float>(), b = B.Value.ToArray<float>();
        int r = Config.Rank;
        return
        [
            .. Enumerable.Range(0, Blocks).Select(i => new AdapterTensor($"lora_A.{i}.weight", [r, _p], AdapterParts.Rows(a, _p, (long)i * r, r))),
            .. Enumerable.Range(0, Blocks).Select(i => new AdapterTensor($"lora_B.{i}.weight", [_q, r], AdapterParts.Rows(b, r, (long)i * _q, _q))),
        ];
    }

    /// <inheritdoc/>
    public override void Import(IReadOnlyDictionary<string, AdapterTensor> tensors)
    {
        int r = Config.Rank;
        A.Value.CopyFrom<float>([.. Enumerable.Range(0, Blocks).SelectMany(i => AdapterParts.Take(tensors, $"lora_A.{i}.weight", r, _p))]);
        B.Value.CopyFrom<float>([.. Enumerable.Range(0, Blocks).SelectMany(i => AdapterParts.Take(tensors, $"lora_B.{i}.weight", _q, r))]);
    }

    /// <inheritdoc/>
    public override void MergeInto(Span<double> weight, IReadOnlyList<double>? gate)
    {
        AdapterParts.RequireNoGate(this, gate);
        if (weight.Length != (long)OutFeatures * InFeatures)
        {
            throw new ArgumentException($"The weight has {weight.Length} values; a {OutFeatures}x{InFeatures} projection needs {(long)OutFeatures * InFeatures}.", nameof(weight));
        }

        float[] a = A.Value.ToArray<float>(), b = B.Value.ToArray<float>();
        int r = Config.Rank;
        double s = Config.Scale;
        // ΔW is block diagonal: block i (rows iq.., columns ip..) = s·B_i·A_i; the tails stay unadapted.
        for (int i = 0; i < Blocks; i++)
        {
            for (int o = 0; o < _q; o++)
            {
                Span<double> row = weight.Slice((((i * _q) + o) * InFeatures) + (i * _p), _p);
                for (int k = 0; k < r; k++)
                {
                    double f = s * b[(((i * _q) + o) * r) + k];
                    ReadOnlySpan<float> ak = a.AsSpan(((i * r) + k) * _p, _p);
                    for (int c = 0; c < _p; c++) row[c] += f * ak[c];
                }
            }
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing) => AdapterParts.Dispose([A, B, _h, _gh, _dropout]);
}
