namespace MoR.Data;

/// <summary>
/// Packs examples into rows of a fixed length L (so every micro-batch has the same shape and the
/// training step allocates nothing). A row holds L + 1 tokens before the shift: inputs are tokens
/// 0..L−1 and targets the labels of tokens 1..L. Examples are never split across rows (a task's
/// prompt and answer stay together); one longer than L + 1 tokens is truncated. The rest of a row is
/// padding that takes no loss. Without packing, each example gets a row of its own.
/// </summary>
public static class SequencePacker
{
    /// <summary>Packs <paramref name="examples"/> in order.</summary>
    /// <param name="examples">The examples.</param>
    /// <param name="sequenceLength">L, the number of inputs per row.</param>
    /// <param name="padId">The id used for padding.</param>
    /// <param name="pack">Put several examples into one row when they fit.</param>
    /// <param name="truncated">How many examples were cut to fit.</param>
    public static List<PackedSequence> Pack(
        IEnumerable<TokenizedExample> examples, int sequenceLength, int padId, bool pack, out int truncated)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 1);
        int width = sequenceLength + 1;
        var rows = new List<PackedSequence>();
        int[] ids = new int[width], labels = new int[width];
        int fill = 0;
        truncated = 0;
        foreach (TokenizedExample example in examples)
        {
            int n = example.Ids.Length;
            if (n > width)
            {
                truncated++;
                n = width;
            }

            if (n == 0)
            {
                continue;
            }

            if (fill > 0 && (!pack || fill + n > width))
            {
                rows.Add(Flush(ids, labels, fill, padId));
                fill = 0;
            }

            Array.Copy(example.Ids, 0, ids, fill, n);
            Array.Copy(example.Labels, 0, labels, fill, n);
            fill += n;
        }

        if (fill > 0)
        {
            rows.Add(Flush(ids, labels, fill, padId));
        }

        return rows;
    }

    /// <summary>How many rows <see cref="Pack"/> would make, without allocating them (to size a run before packing).</summary>
    /// <param name="examples">The examples.</param>
    /// <param name="sequenceLength">L, the number of inputs per row.</param>
    /// <param name="pack">Put several examples into one row when they fit.</param>
    /// <returns>The row count.</returns>
    public static long CountRows(IEnumerable<TokenizedExample> examples, int sequenceLength, bool pack)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 1);
        long width = (long)sequenceLength + 1, rows = 0, fill = 0;
        foreach (TokenizedExample example in examples)
        {
            long n = Math.Min(example.Ids.Length, width);
            if (n == 0)
            {
                continue;
            }

            if (fill > 0 && (!pack || fill + n > width))
            {
                rows++;
                fill = 0;
            }

            fill += n;
        }

        return rows + (fill > 0 ? 1 : 0);
    }

    private static PackedSequence Flush(int[] ids, int[] labels, int fill, int padId)
    {
        int length = ids.Length - 1;
        int[] inputs = new int[length], targets = new int[length];
        for (int t = 0; t < length; t++)
        {
            inputs[t] = t < fill ? ids[t] : padId;
            targets[t] = t + 1 < fill ? labels[t + 1] : TokenizedExample.IgnoreIndex;
        }

        return new PackedSequence(inputs, targets);
    }
}
