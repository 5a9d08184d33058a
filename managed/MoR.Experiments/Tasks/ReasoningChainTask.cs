using System.Globalization;
using System.Text;
using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>
/// A two- or three-step chain of assignments, each adding a small constant to the previous variable:
/// <c>a=3; b=a+2; b?</c> → <c>5</c>. Needs carrying a value through the chain, not a single lookup.
/// </summary>
public sealed class ReasoningChainTask : ISyntheticTask
{
    private readonly int _minSteps, _maxSteps;

    /// <summary>The default task (two or three assignments), or chains of <paramref name="minSteps"/>–<paramref name="maxSteps"/> assignments.</summary>
    public ReasoningChainTask(int minSteps = 2, int maxSteps = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minSteps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSteps, minSteps);
        (_minSteps, _maxSteps) = (minSteps, maxSteps);
    }

    /// <inheritdoc/>
    public string Name => "chain";

    /// <inheritdoc/>
    public string Description => "follow assignments (a=3; b=a+2; b? → 5)";

    /// <inheritdoc/>
    public (string Input, string Answer) Generate(SeededRandom rng)
    {
        int steps = _minSteps + rng.NextInt(_maxSteps - _minSteps + 1);
        int value = rng.NextInt(10);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"a={value}");
        char name = 'a';
        for (int i = 1; i < steps; i++)
        {
            int add = 1 + rng.NextInt(5);
            char next = (char)(name + 1);
            text.Append(CultureInfo.InvariantCulture, $"; {next}={name}+{add}");
            value += add;
            name = next;
        }

        text.Append(CultureInfo.InvariantCulture, $"; {name}?");
        return (text.ToString(), value.ToString(CultureInfo.InvariantCulture));
    }
}
