using System.Globalization;
using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>Upper-case a random lowercase string of 3–8 letters (a string transform).</summary>
public sealed class UppercaseTask : ISyntheticTask
{
    private readonly int _minLength, _maxLength;

    /// <summary>The default task (3–8 letters), or a shorter/longer variant (the quickstart uses short strings).</summary>
    public UppercaseTask(int minLength = 3, int maxLength = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, minLength);
        (_minLength, _maxLength) = (minLength, maxLength);
    }

    /// <inheritdoc/>
    public string Name => "upper";

    /// <inheritdoc/>
    public string Description => "upper-case the string (abc → ABC)";

    /// <inheritdoc/>
    public (string Input, string Answer) Generate(SeededRandom rng)
    {
        string s = TaskText.Random(rng, TaskText.Lowercase, _minLength, _maxLength);
        return (s, s.ToUpper(CultureInfo.InvariantCulture));
    }
}
