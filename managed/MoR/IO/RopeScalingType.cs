namespace MoR.IO;

/// <summary>The RoPE frequency scalings MoR implements (Hugging Face <c>rope_scaling.rope_type</c>).</summary>
public enum RopeScalingType
{
    /// <summary><c>linear</c>: every inverse frequency divided by <c>factor</c> (position interpolation).</summary>
    Linear,

    /// <summary><c>llama3</c>: low frequencies divided by <c>factor</c>, high ones kept, a smooth blend between.</summary>
    Llama3,
}
