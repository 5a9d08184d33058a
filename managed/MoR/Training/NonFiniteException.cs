namespace MoR.Training;

/// <summary>A step produced a NaN or infinite loss or gradient; it was not applied, so the parameters and the last checkpoint are intact.</summary>
public sealed class NonFiniteException : Exception
{
    /// <summary>A non-finite <paramref name="quantity"/> at <paramref name="step"/>.</summary>
    public NonFiniteException(int step, string quantity, double value, string? lastCheckpoint)
        : base($"Step {step}: the {quantity} is {value}; the step was NOT applied. " +
               (lastCheckpoint is null ? "No checkpoint was written yet. " : $"The last good checkpoint is '{lastCheckpoint}'. ") +
               "Lower the learning rate or enable gradient clipping, or pass --skip-nonfinite to skip such steps.")
    {
        Step = step;
        Quantity = quantity;
        Value = value;
    }

    /// <summary>The 1-based step.</summary>
    public int Step { get; }

    /// <summary>"loss" or "gradient norm".</summary>
    public string Quantity { get; }

    /// <summary>The offending value.</summary>
    public double Value { get; }
}
