using MoR.Data;
using MoR.Numerics;

namespace MoR.Tests.Training;

/// <summary>Learnable toy rows for <see cref="TinyLanguageModel"/>: the next token is (token · 5 + 3) mod V.</summary>
internal static class TinyData
{
    public static List<PackedSequence> Rows(int count, int length, ulong seed)
    {
        var rng = new SeededRandom(seed);
        var rows = new List<PackedSequence>();
        for (int r = 0; r < count; r++)
        {
            int[] ids = new int[length + 1];
            ids[0] = rng.NextInt(TinyLanguageModel.Vocab);
            for (int i = 1; i <= length; i++)
            {
                ids[i] = ((ids[i - 1] * 5) + 3) % TinyLanguageModel.Vocab;
            }

            int[] targets = ids[1..];
            targets[0] = TokenizedExample.IgnoreIndex;  // some ignored targets, as a masked prompt would give
            rows.Add(new PackedSequence(ids[..length], targets));
        }

        return rows;
    }
}
