using System.Globalization;
using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>Given 3–4 pairs <c>k=v</c> (distinct letter keys, digit values), answer the value of one key.</summary>
public sealed class KeyValueLookupTask : ISyntheticTask
{
    private readonly int _minPairs, _maxPairs;

    /// <summary>The default task (3–4 pairs), or one with <paramref name="minPairs"/>–<paramref name="maxPairs"/> pairs.</summary>
    public KeyValueLookupTask(int minPairs = 3, int maxPairs = 4)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minPairs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPairs, minPairs);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxPairs, 26);
        (_minPairs, _maxPairs) = (minPairs, maxPairs);
    }

    /// <inheritdoc/>
    public string Name => "lookup";

    /// <inheritdoc/>
    public string Description => "look up a key (a=3 b=7 ? b → 7)";

    /// <inheritdoc/>
    public (string Input, string Answer) Generate(SeededRandom rng)
    {
        int count = _minPairs + rng.NextInt(_maxPairs - _minPairs + 1);
        var keys = new List<char>();
        while (keys.Count < count)
        {
            char k = TaskText.Lowercase[rng.NextInt(TaskText.Lowercase.Length)];
            if (!keys.Contains(k))
            {
                keys.Add(k);
            }
        }

        int[] values = new int[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = rng.NextInt(10);
        }

        int asked = rng.NextInt(count);
        string pairs = string.Join(' ', keys.Select((k, i) => string.Create(CultureInfo.InvariantCulture, $"{k}={values[i]}")));
        return ($"{pairs} ? {keys[asked]}", values[asked].ToString(CultureInfo.InvariantCulture));
    }
}
