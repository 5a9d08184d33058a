namespace MoR.Model;

/// <summary>How <see cref="Generator"/> picks tokens and when it stops.</summary>
public sealed record GenerationOptions
{
    /// <summary>The most tokens to generate (the stop token is not counted or returned).</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>Softmax temperature; 0 (or less) means greedy decoding (argmax).</summary>
    public float Temperature { get; init; }

    /// <summary>Sample only among the k most likely tokens; 0 disables the filter.</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus sampling: the smallest set of most likely tokens whose probability reaches p; 1 disables the filter.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Seeds sampling: the same seed, prompt and model give the same tokens.</summary>
    public ulong Seed { get; init; }

    /// <summary>Extra ids that end generation (besides the model's EOS ids when <see cref="StopAtEos"/>).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Stop at the config's <c>eos_token_id</c>(s).</summary>
    public bool StopAtEos { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad field.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 0)
        {
            throw new ArgumentException($"MaxNewTokens must be >= 0; got {MaxNewTokens}.", nameof(MaxNewTokens));
        }

        if (TopK < 0)
        {
            throw new ArgumentException($"TopK must be >= 0; got {TopK}.", nameof(TopK));
        }

        if (!(TopP > 0 && TopP <= 1))
        {
            throw new ArgumentException($"TopP must be in (0, 1]; got {TopP}.", nameof(TopP));
        }

        if (!float.IsFinite(Temperature))
        {
            throw new ArgumentException($"Temperature must be finite; got {Temperature}.", nameof(Temperature));
        }
    }
}
