namespace MoR.Data;

/// <summary>A micro-batch of <see cref="PackedSequence"/> rows, flattened row-major: [BatchSize × SeqLen].</summary>
/// <param name="BatchSize">Rows.</param>
/// <param name="SeqLen">Tokens per row.</param>
/// <param name="InputIds">BatchSize·SeqLen input ids.</param>
/// <param name="Targets">BatchSize·SeqLen shifted targets (<see cref="TokenizedExample.IgnoreIndex"/> = no loss).</param>
public sealed record TrainingBatch(int BatchSize, int SeqLen, int[] InputIds, int[] Targets)
{
    /// <summary>The number of targets that take a loss.</summary>
    public int TargetCount => Targets.Count(t => t != TokenizedExample.IgnoreIndex);

    /// <summary>Stacks <paramref name="rows"/> (all of one length) into a batch.</summary>
    public static TrainingBatch FromRows(IReadOnlyList<PackedSequence> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            throw new ArgumentException("A batch needs at least one row.", nameof(rows));
        }

        int length = rows[0].InputIds.Length;
        int[] ids = new int[rows.Count * length], targets = new int[rows.Count * length];
        for (int b = 0; b < rows.Count; b++)
        {
            if (rows[b].InputIds.Length != length)
            {
                throw new ArgumentException($"Row {b} has {rows[b].InputIds.Length} tokens but row 0 has {length}.", nameof(rows));
            }

            rows[b].InputIds.CopyTo(ids, b * length);
            rows[b].Targets.CopyTo(targets, b * length);
        }

        return new TrainingBatch(rows.Count, length, ids, targets);
    }
}
