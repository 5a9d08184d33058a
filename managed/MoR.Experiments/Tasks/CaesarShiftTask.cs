using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>Shift each letter of a 3–7 letter string one place forward, z wrapping to a (a string transform).</summary>
public sealed class CaesarShiftTask : ISyntheticTask
{
    private readonly int _minLength, _maxLength;

    /// <summary>The default task (3–7 letters), or a shorter/longer variant (the quickstart uses short strings).</summary>
    public CaesarShiftTask(int minLength = 3, int maxLength = 7)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, minLength);
        (_minLength, _maxLength) = (minLength, maxLength);
    }

    /// <inheritdoc/>
    public string Name => "caesar";

    /// <inheritdoc/>
    public string Description => "shift each letter by one (abz → bca)";

    /// <inheritdoc/>
    public (string Input, string Answer) Generate(SeededRandom rng)
    {
        string s = TaskText.Random(rng, TaskText.Lowercase, _minLength, _maxLength);
        return (s, new string(s.Select(c => (char)('a' + ((c - 'a' + 1) % 26))).ToArray()));
    }
}
