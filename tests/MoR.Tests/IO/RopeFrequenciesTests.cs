using MoR.IO;

namespace MoR.Tests.IO;

/// <summary>
/// RoPE inverse frequencies against an independent float64 transcription of transformers'
/// modeling_rope_utils (_compute_default_rope_parameters, _compute_linear_scaling_rope_parameters,
/// _compute_llama3_parameters).
/// </summary>
public sealed class RopeFrequenciesTests
{
    [Theory]
    [InlineData(64, 10000.0)]
    [InlineData(128, 500000.0)]
    [InlineData(8, 10000.0)]
    public void DefaultMatchesFormula(int headDim, double theta)
    {
        float[] actual = RopeFrequencies.Compute(headDim, theta);
        Assert.Equal(headDim / 2, actual.Length);
        AssertClose(Default(headDim, theta), actual);
        Assert.Equal(1f, actual[0]);
    }

    [Fact]
    public void LinearDividesByFactor()
    {
        double[] expected = Default(64, 10000).Select(f => f / 4).ToArray();
        AssertClose(expected, RopeFrequencies.Compute(64, 10000, new RopeScaling(RopeScalingType.Linear, 4)));
    }

    [Theory]
    [InlineData(128, 500000.0, 8.0, 1.0, 4.0, 8192)] // Llama 3.1 8B / 70B
    [InlineData(64, 500000.0, 32.0, 1.0, 4.0, 8192)] // Llama 3.2 1B
    [InlineData(32, 10000.0, 4.0, 2.0, 8.0, 256)] // small numbers: every branch is hit
    public void Llama3MatchesTransformers(int headDim, double theta, double factor, double low, double high, int original)
    {
        var scaling = new RopeScaling(RopeScalingType.Llama3, factor, low, high, original);
        double[] expected = Llama3(headDim, theta, factor, low, high, original);
        float[] actual = RopeFrequencies.Compute(headDim, theta, scaling);
        AssertClose(expected, actual);

        double[] baseFreq = Default(headDim, theta);
        Assert.Equal(baseFreq[0], actual[0], 6); // highest frequency is never scaled
        Assert.Equal(baseFreq[^1] / factor, actual[^1], baseFreq[^1] / factor * 1e-5); // lowest is divided by factor
    }

    [Fact]
    public void Llama3SmallCaseHasAllThreeRegions()
    {
        double[] baseFreq = Default(32, 10000);
        double[] scaled = Llama3(32, 10000, 4, 2, 8, 256);
        int kept = 0, divided = 0, blended = 0;
        for (int i = 0; i < baseFreq.Length; i++)
        {
            if (scaled[i] == baseFreq[i])
            {
                kept++;
            }
            else if (Math.Abs(scaled[i] - (baseFreq[i] / 4)) < 1e-15)
            {
                divided++;
            }
            else
            {
                blended++;
            }
        }

        Assert.True(kept > 0 && divided > 0 && blended > 0, $"kept {kept}, divided {divided}, blended {blended}");
    }

    [Fact]
    public void ConfigUsesHeadDimAndScaling()
    {
        var config = new LlamaConfig
        {
            HiddenSize = 256,
            IntermediateSize = 512,
            NumHiddenLayers = 1,
            NumAttentionHeads = 4,
            VocabSize = 100,
            RopeTheta = 500000,
            RopeScaling = new RopeScaling(RopeScalingType.Llama3, 8, 1, 4, 8192),
        };
        AssertClose(Llama3(64, 500000, 8, 1, 4, 8192), config.RopeInverseFrequencies());
    }

    [Fact]
    public void RejectsOddHeadDim() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RopeFrequencies.Compute(7, 10000));

    // inv_freq = 1 / base^(arange(0, dim, 2) / dim)
    private static double[] Default(int dim, double theta) =>
        Enumerable.Range(0, dim / 2).Select(i => 1.0 / Math.Pow(theta, 2.0 * i / dim)).ToArray();

    // transformers _compute_llama3_parameters, line by line in float64.
    private static double[] Llama3(int dim, double theta, double factor, double lowFreqFactor, double highFreqFactor, int oldContextLen)
    {
        double[] invFreq = Default(dim, theta);
        double lowFreqWavelen = oldContextLen / lowFreqFactor;
        double highFreqWavelen = oldContextLen / highFreqFactor;
        var result = new double[invFreq.Length];
        for (int i = 0; i < invFreq.Length; i++)
        {
            double wavelen = 2 * Math.PI / invFreq[i];
            double invFreqLlama = wavelen > lowFreqWavelen ? invFreq[i] / factor : invFreq[i];
            double smoothFactor = ((oldContextLen / wavelen) - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
            double smoothed = ((1 - smoothFactor) * invFreqLlama / factor) + (smoothFactor * invFreqLlama);
            bool isMediumFreq = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            result[i] = isMediumFreq ? smoothed : invFreqLlama;
        }

        return result;
    }

    private static void AssertClose(double[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            // float32 pow/divide as transformers computes it: a few ulps from the float64 value.
            double tolerance = Math.Abs(expected[i]) * 2e-6;
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tolerance, $"index {i}: expected {expected[i]:R}, got {actual[i]:R}");
        }
    }
}
