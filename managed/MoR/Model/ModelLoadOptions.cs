namespace MoR.Model;

/// <summary>How <see cref="LlamaModel.Load"/> materialises a checkpoint's weights.</summary>
public sealed record ModelLoadOptions
{
    /// <summary>
    /// Full fine-tuning: every weight (embeddings, norms, linears, LM head) becomes an F32
    /// <see cref="Modules.Parameter"/> with a gradient buffer. When false the base is frozen and no weight
    /// gradient is ever allocated (adapter training or inference).
    /// </summary>
    public bool Trainable { get; init; }

    /// <summary>
    /// The dtype frozen linear and embedding weights are kept in: <see cref="DType.F32"/> or
    /// <see cref="DType.BF16"/>; null keeps them as stored (F16 checkpoints are widened to F32, because the
    /// embedding and DoRA kernels read F32 or BF16 only). Ignored when <see cref="Trainable"/> (always F32).
    /// Norm weights are always F32.
    /// </summary>
    public DType? FrozenWeightDType { get; init; }
}
