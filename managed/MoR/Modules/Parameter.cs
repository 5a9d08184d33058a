namespace MoR.Modules;

/// <summary>
/// A trainable F32 tensor and its gradient (same shape, accumulated by backward passes, zeroed by the
/// optimizer). Optimizer state lives with the optimizer, not here.
/// </summary>
public sealed class Parameter : IDisposable
{
    /// <summary>Takes ownership of <paramref name="value"/> and allocates a zero gradient beside it.</summary>
    /// <param name="name">A name unique within its module (e.g. <c>lora_B</c>); used in messages and optimizer groups.</param>
    /// <param name="value">The F32 values.</param>
    /// <param name="weightDecay">Whether AdamW's decoupled weight decay applies (not to ω scales, magnitudes or norms).</param>
    public Parameter(string name, Tensor value, bool weightDecay)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.DType != DType.F32)
        {
            throw new ArgumentException($"Parameter '{name}' must be F32 (adapter parameters and gradients are F32); it is {value.DType}.", nameof(value));
        }

        Name = name;
        Value = value;
        WeightDecay = weightDecay;
        Grad = Tensor.Zeros(value.Device, DType.F32, value.Shape);
    }

    /// <summary>The name given at construction.</summary>
    public string Name { get; }

    /// <summary>The current values.</summary>
    public Tensor Value { get; }

    /// <summary>The accumulated gradient.</summary>
    public Tensor Grad { get; }

    /// <summary>Whether weight decay applies.</summary>
    public bool WeightDecay { get; }

    /// <summary>The number of elements.</summary>
    public long Numel => Value.Numel;

    /// <summary>Sets the gradient to zero.</summary>
    public void ZeroGrad() => Grad.Fill(0);

    /// <inheritdoc/>
    public void Dispose()
    {
        Value.Dispose();
        Grad.Dispose();
    }
}
