using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>Sort 3–8 random digits ascending.</summary>
public sealed class SortDigitsTask : ISyntheticTask
{
    /// <inheritdoc/>
    public string Name => "sort";

    /// <inheritdoc/>
    public string Description => "sort the digits ascending (3141 → 1134)";

    /// <inheritdoc/>
    public (string Input, string Answer) Generate(SeededRandom rng)
    {
        string s = TaskText.Random(rng, "0123456789", 3, 8);
        char[] sorted = s.ToCharArray();
        Array.Sort(sorted);
        return (s, new string(sorted));
    }
}
