namespace MoR.IO;

/// <summary>
/// RoPE inverse frequencies, computed in single precision with the same operations, in the same order,
/// as Hugging Face transformers (<c>modeling_rope_utils</c>: <c>_compute_default_rope_parameters</c>,
/// <c>_compute_linear_scaling_rope_parameters</c>, <c>_compute_llama3_parameters</c>), so a model here
/// rotates by the same angles as the PyTorch one.
/// </summary>
public static class RopeFrequencies
{
    /// <summary>Inverse frequencies θ_i for the rotated pairs of a head.</summary>
    /// <param name="headDim">Head dimension (even); the result has <c>headDim / 2</c> entries.</param>
    /// <param name="theta">RoPE base (<c>rope_theta</c>).</param>
    /// <param name="scaling">Optional scaling.</param>
    /// <returns><c>1 / theta^(2i / headDim)</c>, scaled.</returns>
    public static float[] Compute(int headDim, double theta, RopeScaling? scaling = null)
    {
        if (headDim <= 0 || headDim % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "RoPE needs a positive, even head dimension.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(theta);

        // HF: 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim)), all float32.
        float[] inv = new float[headDim / 2];
        for (int i = 0; i < inv.Length; i++)
        {
            float exponent = (float)(2 * i) / headDim;
            inv[i] = 1f / MathF.Pow((float)theta, exponent);
        }

        switch (scaling?.Type)
        {
            case null:
                return inv;
            case RopeScalingType.Linear:
                float linear = (float)scaling.Factor;
                for (int i = 0; i < inv.Length; i++)
                {
                    inv[i] /= linear;
                }

                return inv;
            case RopeScalingType.Llama3:
                ApplyLlama3(inv, scaling);
                return inv;
            default:
                throw new ArgumentOutOfRangeException(nameof(scaling), scaling.Type, "Unknown RoPE scaling.");
        }
    }

    private static void ApplyLlama3(float[] inv, RopeScaling s)
    {
        float factor = (float)s.Factor;
        float low = (float)s.LowFreqFactor;
        double oldContext = s.OriginalMaxPositionEmbeddings;

        // Python-side scalars are doubles; they meet float32 tensors as float32.
        double lowFreqWavelen = oldContext / s.LowFreqFactor;
        double highFreqWavelen = oldContext / s.HighFreqFactor;
        float twoPi = (float)(2 * Math.PI);
        float blendDenominator = (float)(s.HighFreqFactor - s.LowFreqFactor);
        float oldContextF = (float)oldContext;
        for (int i = 0; i < inv.Length; i++)
        {
            // torch evaluates `scalar / tensor` as tensor.reciprocal() * scalar.
            float reciprocal = 1f / inv[i];
            float wavelen = reciprocal * twoPi;
            float scaled = wavelen > lowFreqWavelen ? inv[i] / factor : inv[i];
            bool medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            if (medium)
            {
                float smooth = ((1f / wavelen * oldContextF) - low) / blendDenominator;
                scaled = ((1f - smooth) * scaled / factor) + (smooth * scaled);
            }

            inv[i] = scaled;
        }
    }
}
