namespace MoR.Model;

/// <summary>Which activations a <see cref="ModelActivations"/> keeps.</summary>
internal enum ActivationMode
{
    /// <summary>Every layer's saved activations, for backward.</summary>
    Training,

    /// <summary>Only each layer's input; backward recomputes the rest layer by layer.</summary>
    TrainingRecompute,

    /// <summary>Forward only: one shared layer set, two residual buffers.</summary>
    Inference,
}
