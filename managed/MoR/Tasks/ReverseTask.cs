using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>Reverse a random lowercase string of 3–7 letters.</summary>
public sealed class ReverseTask : ISyntheticTask
{
    /// <inheritdoc/>
    public string Name => "reverse";

    /// <inheritdoc/>
    public string Description => "reverse the string (abc → cba)";

    /// <inheritdoc/>
    public (string Input, string Answer) Generate(SeededRandom rng)
    {
        string s = TaskText.Random(rng, TaskText.Lowercase, 3, 7);
        char[] r = s.ToCharArray();
        Array.Reverse(r);
        return (s, new string(r));
    }
}
