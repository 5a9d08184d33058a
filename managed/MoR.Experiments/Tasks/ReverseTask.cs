using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>Reverse a random lowercase string of 3–7 letters.</summary>
public sealed class ReverseTask : ISyntheticTask
{
    private readonly int _minLength, _maxLength;

    /// <summary>The default task (3–7 letters), or a shorter/longer variant (the quickstart uses short strings).</summary>
    public ReverseTask(int minLength = 3, int maxLength = 7)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, minLength);
        (_minLength, _maxLength) = (minLength, maxLength);
    }

    /// <inheritdoc/>
    public string Name => "reverse";

    /// <inheritdoc/>
    public string Description => "reverse the string (abc → cba)";

    /// <inheritdoc/>
    public (string Input, string Answer) Generate(SeededRandom rng)
    {
        string s = TaskText.Random(rng, TaskText.Lowercase, _minLength, _maxLength);
        char[] r = s.ToCharArray();
        Array.Reverse(r);
        return (s, new string(r));
    }
}
