using MoR.Numerics;

namespace MoR.Data;

/// <summary>Splits examples into training and validation parts, deterministically by seed.</summary>
public static class DatasetSplit
{
    /// <summary>
    /// Moves a <paramref name="validationFraction"/> of <paramref name="examples"/> (at least one when the
    /// fraction is positive and there are two or more examples) into the validation part.
    /// </summary>
    public static (List<TokenizedExample> Train, List<TokenizedExample> Validation) Split(
        IReadOnlyList<TokenizedExample> examples, double validationFraction, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (validationFraction is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "The validation fraction must be in [0, 1).");
        }

        int count = validationFraction == 0 || examples.Count < 2
            ? 0
            : Math.Clamp((int)Math.Round(examples.Count * validationFraction), 1, examples.Count - 1);
        var rng = new SeededRandom(seed ^ 0x5EED5EED5EEDUL);
        var chosen = new HashSet<int>();
        while (chosen.Count < count)
        {
            chosen.Add(rng.NextInt(examples.Count));
        }

        var train = new List<TokenizedExample>();
        var validation = new List<TokenizedExample>();
        for (int i = 0; i < examples.Count; i++)
        {
            (chosen.Contains(i) ? validation : train).Add(examples[i]);
        }

        return (train, validation);
    }
}
