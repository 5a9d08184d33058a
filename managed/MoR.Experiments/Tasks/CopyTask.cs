using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>Repeat a random lowercase string of 3–8 letters.</summary>
public sealed class CopyTask : ISyntheticTask
{
    private readonly int _minLength, _maxLength;

    /// <summary>The default task (3–8 letters), or a shorter/longer variant (the quickstart uses short strings).</summary>
    public CopyTask(int minLength = 3, int maxLength = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, minLength);
        (_minLength, _maxLength) = (minLength, maxLength);
    }

    /// <inheritdoc/>
    public string Name => "copy";

    /// <inheritdoc/>
    public string Description => "repeat the string (abc → abc)";

    /// <inheritdoc/>
    public (string Input, string Answer) Generate(SeededRandom rng)
    {
        string s = TaskText.Random(rng, TaskText.Lowercase, _minLength, _maxLength);
        return (s, s);
    }
}
