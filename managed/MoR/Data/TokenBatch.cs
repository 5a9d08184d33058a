namespace MoR.Data;

/// <summary>
/// One micro-batch of token ids, row-major [BatchSize, SeqLen]. <see cref="Targets"/> are ALREADY SHIFTED:
/// <c>Targets[b * SeqLen + t]</c> is the token to predict at position t (the next input token for plain
/// language modelling); <see cref="IgnoreIndex"/> (-100, as Hugging Face) marks positions without a loss.
/// Every row starts at position 0 (no packing offsets).
/// </summary>
/// <param name="BatchSize">Rows.</param>
/// <param name="SeqLen">Tokens per row.</param>
/// <param name="InputIds">BatchSize × SeqLen ids in [0, vocab).</param>
/// <param name="Targets">BatchSize × SeqLen ids in [0, vocab) or -100.</param>
public sealed record TokenBatch(int BatchSize, int SeqLen, int[] InputIds, int[] Targets)
{
    /// <summary>The target value that contributes no loss.</summary>
    public const int IgnoreIndex = -100;

    /// <summary>BatchSize × SeqLen.</summary>
    public int TokenCount => BatchSize * SeqLen;

    /// <summary>The number of targets that take a loss.</summary>
    public int TargetCount => Targets.Count(t => t != IgnoreIndex);

    /// <summary>Stacks <paramref name="rows"/> (all of one length) into a batch.</summary>
    public static TokenBatch FromRows(IReadOnlyList<PackedSequence> rows)
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

        return new TokenBatch(rows.Count, length, ids, targets);
    }


    /// <summary>A language-modelling batch of one row: targets are the inputs shifted left by one, the last position ignored.</summary>
    /// <param name="ids">The sequence.</param>
    /// <returns>The batch.</returns>
    public static TokenBatch NextTokenPrediction(ReadOnlySpan<int> ids)
    {
        int[] input = ids.ToArray();
        int[] targets = new int[input.Length];
        for (int t = 0; t < input.Length; t++)
        {
            targets[t] = t + 1 < input.Length ? input[t + 1] : IgnoreIndex;
        }

        return new TokenBatch(1, input.Length, input, targets);
    }

    /// <summary>Throws <see cref="ArgumentException"/> when sizes disagree or an id is outside [0, <paramref name="vocabSize"/>).</summary>
    /// <param name="vocabSize">The model's vocabulary size.</param>
    public void Validate(int vocabSize)
    {
        if (BatchSize < 1 || SeqLen < 1)
        {
            throw new ArgumentException($"A token batch needs at least one row and one position; got {BatchSize} x {SeqLen}.");
        }

        long count = (long)BatchSize * SeqLen;
        if (InputIds is null || InputIds.Length != count)
        {
            throw new ArgumentException($"InputIds has {InputIds?.Length ?? 0} ids; a {BatchSize} x {SeqLen} batch needs {count}.");
        }

        if (Targets is null || Targets.Length != count)
        {
            throw new ArgumentException($"Targets has {Targets?.Length ?? 0} ids; a {BatchSize} x {SeqLen} batch needs {count}.");
        }

        for (int i = 0; i < count; i++)
        {
            if ((uint)InputIds[i] >= (uint)vocabSize)
            {
                throw new ArgumentException($"InputIds[{i}] = {InputIds[i]} is outside the vocabulary [0, {vocabSize}).");
            }

            if (Targets[i] != IgnoreIndex && (uint)Targets[i] >= (uint)vocabSize)
            {
                throw new ArgumentException($"Targets[{i}] = {Targets[i]} is outside the vocabulary [0, {vocabSize}) and is not {IgnoreIndex}.");
            }
        }
    }
}
