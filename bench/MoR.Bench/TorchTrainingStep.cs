using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// One optimizer step as a TorchSharp user writes it: mean loss, backward, clip_grad_norm_ (max_norm / (norm +
/// 1e-6) when above, as our trainer clips), AdamW (weight decay 0, our trainer's default), zero_grad.
/// </summary>
internal sealed class TorchTrainingStep : IDisposable
{
    private readonly TorchLlamaModel _model;
    private readonly double _maxGradNorm;
    private readonly AdamW _optimizer;

    public TorchTrainingStep(TorchLlamaModel model, double learningRate, double maxGradNorm)
    {
        _model = model;
        _maxGradNorm = maxGradNorm;
        Parameters = model.TrainableParameters();
        _optimizer = optim.AdamW(Parameters, learningRate);
    }

    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Runs one step on ids/targets [B, T] and returns the loss it trained on.</summary>
    public float Run(TTensor ids, TTensor targets)
    {
        using var scope = NewDisposeScope();
        TTensor loss = _model.Loss(ids, targets);
        loss.backward();
        if (_maxGradNorm > 0)
        {
            nn.utils.clip_grad_norm_(Parameters, _maxGradNorm);
        }

        _optimizer.step();
        _optimizer.zero_grad();
        return loss.item<float>();
    }

    public void Dispose() => _optimizer.Dispose();
}
