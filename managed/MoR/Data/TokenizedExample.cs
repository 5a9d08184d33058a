namespace MoR.Data;

/// <summary>
/// One tokenised training example: ids and, per position, the label the model should predict there
/// (the id itself) or <see cref="IgnoreIndex"/> where the token is context only (a prompt, a user turn,
/// BOS). Labels are NOT shifted: <see cref="SequencePacker"/> shifts them when it builds targets.
/// </summary>
/// <param name="Ids">The token ids.</param>
/// <param name="Labels">Same length as <paramref name="Ids"/>; <see cref="IgnoreIndex"/> where no loss is taken.</param>
public sealed record TokenizedExample(int[] Ids, int[] Labels)
{
    /// <summary>The label that takes no loss (PyTorch's and HF's convention).</summary>
    public const int IgnoreIndex = -100;

    /// <summary>The number of positions that take a loss.</summary>
    public int LabelCount => Labels.Count(l => l != IgnoreIndex);
}
