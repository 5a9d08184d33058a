using MoR.Interop;
using MoR.Modules;

namespace MoR.Training;

/// <summary>
/// AdamW (decoupled weight decay, bias-corrected) over a fixed list of parameters, one fused
/// mor_adamw_step per parameter tensor. The first and second moments are F32 tensors beside each
/// parameter; they and <see cref="StepCount"/> are the whole state a checkpoint saves.
/// </summary>
public sealed unsafe class AdamW : IDisposable
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Tensor[] _m;
    private readonly Tensor[] _v;

    /// <summary>Zero moments for every parameter.</summary>
    public AdamW(IReadOnlyList<Parameter> parameters, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0f)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        _m = [.. parameters.Select(p => Tensor.Zeros(p.Value.Device, DType.F32, p.Value.Shape))];
        _v = [.. parameters.Select(p => Tensor.Zeros(p.Value.Device, DType.F32, p.Value.Shape))];
    }

    /// <summary>β1.</summary>
    public float Beta1 { get; }

    /// <summary>β2.</summary>
    public float Beta2 { get; }

    /// <summary>ε.</summary>
    public float Epsilon { get; }

    /// <summary>The decay applied to parameters whose <see cref="Parameter.WeightDecay"/> is true.</summary>
    public float WeightDecay { get; }

    /// <summary>Updates applied so far (the bias correction's t).</summary>
    public long StepCount { get; private set; }

    /// <summary>The parameters, in state order.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>First moments, one per parameter.</summary>
    public IReadOnlyList<Tensor> FirstMoments => _m;

    /// <summary>Second moments, one per parameter.</summary>
    public IReadOnlyList<Tensor> SecondMoments => _v;

    /// <summary>
    /// One update of every parameter from its gradient multiplied by <paramref name="gradScale"/>
    /// (clipping folds in here). Gradients are left as they are.
    /// </summary>
    public void Step(float learningRate, float gradScale = 1f)
    {
        StepCount++;
        for (int i = 0; i < _parameters.Count; i++)
        {
            Parameter p = _parameters[i];
            var hp = new MorAdamWParams
            {
                Lr = learningRate,
                Beta1 = Beta1,
                Beta2 = Beta2,
                Eps = Epsilon,
                WeightDecay = p.WeightDecay ? WeightDecay : 0f,
                GradScale = gradScale,
                Step = StepCount,
            };
            NativeCall.Check(
                NativeMethods.mor_adamw_step(p.Value.Device.Context, StreamHandle.Default, p.Numel, p.Value.Handle, p.Grad.Handle,
                    _m[i].Handle, _v[i].Handle, &hp),
                nameof(NativeMethods.mor_adamw_step));
        }
    }

    /// <summary>Restores the step count (the moments are restored through <see cref="FirstMoments"/> / <see cref="SecondMoments"/>).</summary>
    public void RestoreStepCount(long stepCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stepCount);
        StepCount = stepCount;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (Tensor t in _m.Concat(_v))
        {
            t.Dispose();
        }
    }
}
