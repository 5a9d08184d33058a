using MoR.Adapters;
using MoR.Data;
using MoR.Interop;
using MoR.Model;
using MoR.Modules;
using MoR.Numerics;
using MoR.Tests.Adapters;
using MoR.Training;

namespace MoR.Tests.Training;

/// <summary>
/// A deliberately minimal <see cref="ITrainingModel"/> for trainer tests (not a second LLaMA):
/// frozen embedding → one adapted linear (the layer under training) → frozen LM head → cross-entropy.
/// It runs in microseconds and exercises every adapter kind and full fine-tuning through the real
/// native ops, so the trainer's mechanics (accumulation, clipping, checkpoints, resume) are tested
/// independently of the transformer.
/// </summary>
internal sealed unsafe class TinyLanguageModel : ITrainingModel, IDisposable
{
    public const int Vocab = 24, Hidden = 16;
    private readonly Tensor _embedding;
    private readonly AdaptedLinear _layer;
    private readonly Linear _head;

    public TinyLanguageModel(string method, ulong seed = 1, int rank = 4, int experts = 3, float dropout = 0f)
    {
        var rng = new SeededRandom(seed);
        float[] e = new float[Vocab * Hidden], w = new float[Hidden * Hidden], h = new float[Vocab * Hidden];
        rng.FillNormal(e, 1.0);
        rng.FillNormal(w, 0.3);
        rng.FillNormal(h, 0.3);
        _embedding = Tensor.FromSpan<float>(Device.Cpu, e, Vocab, Hidden);
        AdapterConfig? config = MoR.Tests.Adapters.TestAdapters.ConfigOrFull(method, rank, alpha: 2f * rank, experts, dropout);
        var linear = new Linear("model.layers.0.mlp.up_proj", Tensor.FromSpan<float>(Device.Cpu, w, Hidden, Hidden), trainable: config is null);
        ILinearAdapter? adapter = config?.Method.Create(config, linear, seed);
        _layer = new AdaptedLinear(linear, adapter);
        _head = new Linear("lm_head", Tensor.FromSpan<float>(Device.Cpu, h, Vocab, Hidden));
    }

    public Device Device => Device.Cpu;

    public IReadOnlyList<ILinearAdapter> Adapters => _layer.Adapter is null ? [] : [_layer.Adapter];

    public AdaptedLinear Layer => _layer;

    public IReadOnlyList<Parameter> TrainableParameters() =>
        _layer.Adapter?.Parameters ?? [_layer.Base.WeightParameter!];

    public LossResult ForwardBackward(TokenBatch batch, float gradScale, AdapterPass pass) => Run(batch, gradScale, pass);

    public LossResult Evaluate(TokenBatch batch) => Run(batch, 0f, AdapterPass.Inference);

    public void Dispose()
    {
        _embedding.Dispose();
        _layer.Dispose();
        _head.Dispose();
    }

    private LossResult Run(TokenBatch batch, float gradScale, AdapterPass pass)
    {
        long t = batch.InputIds.Length;
        ContextHandle ctx = Device.Context;
        using Tensor ids = Tensor.FromSpan<int>(Device, batch.InputIds);
        using Tensor targets = Tensor.FromSpan<int>(Device, batch.Targets);
        using Tensor x = Tensor.Empty(Device, DType.F32, t, Hidden);
        using Tensor hidden = Tensor.Empty(Device, DType.F32, t, Hidden);
        using Tensor logits = Tensor.Empty(Device, DType.F32, t, Vocab);
        using Tensor losses = Tensor.Empty(Device, DType.F32, t);
        NativeCall.Check(NativeMethods.mor_embedding_forward(ctx, StreamHandle.Default, t, Hidden, Vocab, ids.Handle, _embedding.Handle, x.Handle), "mor_embedding_forward");
        _layer.Forward(x, hidden, pass);
        _head.Forward(hidden, logits);
        NativeCall.Check(
            NativeMethods.mor_cross_entropy(ctx, StreamHandle.Default, t, Vocab, logits.Handle, targets.Handle, TokenizedExample.IgnoreIndex, losses.Handle, gradScale),
            "mor_cross_entropy");
        if (gradScale != 0f)
        {
            using Tensor dHidden = Tensor.Zeros(Device, DType.F32, t, Hidden);
            _head.Backward(hidden, logits, dHidden);
            _layer.Backward(x, dHidden, dx: null, pass);
        }

        double sum = losses.ToArray<float>().Sum(v => (double)v);
        return new LossResult(sum, batch.TargetCount);
    }
}
