using System.Globalization;
using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>Upper-case a random lowercase string of 3–8 letters (a string transform).</summary>
public sealed class UppercaseTask : ISyntheticTask
{
    /// <inheritdoc/>
    public string Name => "upper";

    /// <inheritdoc/>
    public string Description => "upper-case the string (abc → ABC)";

    /// <inheritdoc/>
    public (string Input, string Answer) Generate(SeededRandom rng)
    {
        string s = TaskText.Random(rng, TaskText.Lowercase, 3, 8);
        return (s, s.ToUpper(CultureInfo.InvariantCulture));
    }
}
