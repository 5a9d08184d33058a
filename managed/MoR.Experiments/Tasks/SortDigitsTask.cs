using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>Sort 3–8 random digits ascending.</summary>
public sealed class SortDigitsTask : ISyntheticTask
{
    private readonly int _minLength, _maxLength;

    /// <summary>The default task (3–8 letters), or a shorter/longer variant (the quickstart uses short strings).</summary>
    public SortDigitsTask(int minLength = 3, int maxLength = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, minLength);
        (_minLength, _maxLength) = (minLength, maxLength);
    }

    /// <inheritdoc/>
    public string Name => "sort";

    /// <inheritdoc/>
    public string Description => "sort the digits ascending (3141 → 1134)";

    /// <inheritdoc/>
    public (string Input, string Answer) Generate(SeededRandom rng)
    {
        string s = TaskText.Random(rng, "0123456789", _minLength, _maxLength);
        char[] sorted = s.ToCharArray();
        Array.Sort(sorted);
        return (s, new string(sorted));
    }
}
