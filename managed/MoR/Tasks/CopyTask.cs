using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>Repeat a random lowercase string of 3–8 letters.</summary>
public sealed class CopyTask : ISyntheticTask
{
    /// <inheritdoc/>
    public string Name => "copy";

    /// <inheritdoc/>
    public string Description => "repeat the string (abc → abc)";

    /// <inheritdoc/>
    public (string Input, string Answer) Generate(SeededRandom rng)
    {
        string s = TaskText.Random(rng, TaskText.Lowercase, 3, 8);
        return (s, s);
    }
}
