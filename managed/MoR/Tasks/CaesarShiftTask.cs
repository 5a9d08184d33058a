using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>Shift each letter of a 3–7 letter string one place forward, z wrapping to a (a string transform).</summary>
public sealed class CaesarShiftTask : ISyntheticTask
{
    /// <inheritdoc/>
    public string Name => "caesar";

    /// <inheritdoc/>
    public string Description => "shift each letter by one (abz → bca)";

    /// <inheritdoc/>
    public (string Input, string Answer) Generate(SeededRandom rng)
    {
        string s = TaskText.Random(rng, TaskText.Lowercase, 3, 7);
        return (s, new string(s.Select(c => (char)('a' + ((c - 'a' + 1) % 26))).ToArray()));
    }
}
