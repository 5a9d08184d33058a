namespace MoR.IO;

/// <summary>A <c>rope_scaling</c> block of a Hugging Face config.</summary>
/// <param name="Type">The scaling.</param>
/// <param name="Factor">Scale factor (both types).</param>
/// <param name="LowFreqFactor"><c>low_freq_factor</c> (llama3 only; 0 for linear).</param>
/// <param name="HighFreqFactor"><c>high_freq_factor</c> (llama3 only; 0 for linear).</param>
/// <param name="OriginalMaxPositionEmbeddings"><c>original_max_position_embeddings</c> (llama3 only; 0 for linear).</param>
public sealed record RopeScaling(
    RopeScalingType Type, double Factor, double LowFreqFactor = 0, double HighFreqFactor = 0, int OriginalMaxPositionEmbeddings = 0)
{
    /// <summary>The name Hugging Face uses in <c>rope_type</c>.</summary>
    public string TypeName => Type == RopeScalingType.Llama3 ? "llama3" : "linear";
}
