namespace MoR.Modules;

/// <summary>
/// y = x·Wᵀ with W [out, in] in F32 or BF16 (no bias: LLaMA has none). Frozen unless built trainable
/// (full fine-tuning), in which case W is an F32 <see cref="Parameter"/> and backward accumulates dW.
/// A BF16 weight rounds x to BF16 inside the GEMM (mixed precision); accumulation is F32.
/// </summary>
public sealed class Linear : IDisposable
{
    /// <summary>Wraps <paramref name="weight"/> (ownership passes to this layer).</summary>
    /// <param name="name">The module path, e.g. <c>model.layers.0.mlp.up_proj</c>.</param>
    /// <param name="weight">[out, in], F32 or BF16.</param>
    /// <param name="trainable">Full fine-tuning: W gets a gradient (W must be F32).</param>
    public Linear(string name, Tensor weight, bool trainable = false)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2)
        {
            throw new ArgumentException($"Linear '{name}' needs a 2-D weight [out, in]; got {ShapeText.Format(weight.Shape)}.", nameof(weight));
        }

        if (weight.DType is not (DType.F32 or DType.BF16))
        {
            throw new ArgumentException($"Linear '{name}' weight must be F32 or BF16; it is {weight.DType}.", nameof(weight));
        }

        if (trainable && weight.DType != DType.F32)
        {
            throw new ArgumentException($"Linear '{name}': full fine-tuning needs F32 weights; this one is {weight.DType}.", nameof(trainable));
        }

        Name = name;
        Weight = weight;
        WeightParameter = trainable ? new Parameter("weight", weight, weightDecay: true) : null;
    }

    /// <summary>The module path.</summary>
    public string Name { get; }

    /// <summary>[out, in].</summary>
    public Tensor Weight { get; }

    /// <summary>The trainable weight, or null when frozen.</summary>
    public Parameter? WeightParameter { get; }

    /// <summary>Input features.</summary>
    public int InFeatures => (int)Weight.Shape[1];

    /// <summary>Output features.</summary>
    public int OutFeatures => (int)Weight.Shape[0];

    /// <summary>y = x·Wᵀ (overwrites y). x [T, in], y [T, out].</summary>
    public void Forward(Tensor x, Tensor y) => Tensor.MatMul(x, Weight, y, transposeB: true);

    /// <summary>dx += dy·W (when dx is given); dW += dyᵀ·x when trainable.</summary>
    public void Backward(Tensor x, Tensor dy, Tensor? dx)
    {
        if (dx is not null)
        {
            Tensor.MatMul(dy, Weight, dx, beta: 1f);
        }

        if (WeightParameter is not null)
        {
            Tensor.MatMul(dy, x, WeightParameter.Grad, beta: 1f, transposeA: true);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (WeightParameter is not null)
        {
            WeightParameter.Dispose();
        }
        else
        {
            Weight.Dispose();
        }
    }
}
