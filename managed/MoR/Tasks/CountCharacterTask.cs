using System.Globalization;
using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>Count how often a letter occurs in a 5–10 letter string over a four-letter alphabet.</summary>
public sealed class CountCharacterTask : ISyntheticTask
{
    private const string Alphabet = "abcx";

    /// <inheritdoc/>
    public string Name => "count";

    /// <inheritdoc/>
    public string Description => "count a letter (x in axbxx → 3)";

    /// <inheritdoc/>
    public (string Input, string Answer) Generate(SeededRandom rng)
    {
        char target = Alphabet[rng.NextInt(Alphabet.Length)];
        string s = TaskText.Random(rng, Alphabet, 5, 10);
        int n = s.Count(c => c == target);
        return ($"{target} in {s}", n.ToString(CultureInfo.InvariantCulture));
    }
}
