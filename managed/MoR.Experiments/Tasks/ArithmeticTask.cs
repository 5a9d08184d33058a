using System.Globalization;
using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>Addition or subtraction of two integers in [0, 50); subtraction never goes negative.</summary>
public sealed class ArithmeticTask : ISyntheticTask
{
    private readonly int _limit;

    /// <summary>The default task (operands in [0, 50)), or one with operands in [0, <paramref name="limit"/>).</summary>
    public ArithmeticTask(int limit = 50)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 2);
        _limit = limit;
    }

    /// <inheritdoc/>
    public string Name => "arith";

    /// <inheritdoc/>
    public string Description => "add or subtract two small integers (12+7 → 19)";

    /// <inheritdoc/>
    public (string Input, string Answer) Generate(SeededRandom rng)
    {
        int a = rng.NextInt(_limit), b = rng.NextInt(_limit);
        if (rng.NextInt(2) == 0)
        {
            return (string.Create(CultureInfo.InvariantCulture, $"{a}+{b}"), (a + b).ToString(CultureInfo.InvariantCulture));
        }

        (a, b) = a >= b ? (a, b) : (b, a);
        return (string.Create(CultureInfo.InvariantCulture, $"{a}-{b}"), (a - b).ToString(CultureInfo.InvariantCulture));
    }
}
