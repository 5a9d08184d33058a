namespace MoR.Training;

/// <summary>What is trained: one of the adapter methods of MOR.md §4, or every weight.</summary>
public enum TrainingMethod
{
    /// <summary>LoRA adapters on the target modules.</summary>
    LoRA,

    /// <summary>DoRA adapters on the target modules.</summary>
    DoRA,

    /// <summary>Dense MoE-LoRA adapters on the target modules.</summary>
    MoELoRA,

    /// <summary>Mixture-of-Ranks adapters on the target modules.</summary>
    MoR,

    /// <summary>Full fine-tuning: every weight of the model (also how small base models are pretrained).</summary>
    Full,
}
