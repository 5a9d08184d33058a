using System.Globalization;
using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>Count how often a letter occurs in a 5–10 letter string over a four-letter alphabet.</summary>
public sealed class CountCharacterTask : ISyntheticTask
{
    private readonly int _minLength, _maxLength;

    /// <summary>The default task (5–10 letters), or a shorter/longer variant (the quickstart uses short strings).</summary>
    public CountCharacterTask(int minLength = 5, int maxLength = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, minLength);
        (_minLength, _maxLength) = (minLength, maxLength);
    }

    private const string Alphabet = "abcx";

    /// <inheritdoc/>
    public string Name => "count";

    /// <inheritdoc/>
    public string Description => "count a letter (x in axbxx → 3)";

    /// <inheritdoc/>
    public (string Input, string Answer) Generate(SeededRandom rng)
    {
        char target = Alphabet[rng.NextInt(Alphabet.Length)];
        string s = TaskText.Random(rng, Alphabet, _minLength, _maxLength);
        int n = s.Count(c => c == target);
        return ($"{target} in {s}", n.ToString(CultureInfo.InvariantCulture));
    }
}
