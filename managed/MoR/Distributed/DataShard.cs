namespace MoR.Distributed;

/// <summary>
/// Which micro-batches a rank trains on: rank r of K takes micro-batches r, r+K, r+2K, … of the single-rank
/// order. The shards are disjoint, and step s of a K-rank run sees micro-batches sK … sK+K−1, exactly the
/// samples one rank sees in step s with a K-times larger micro-batch; with the gradients averaged by
/// <see cref="Communicator.AllReduceGradients"/> the two runs take the same optimizer steps.
/// </summary>
public sealed class DataShard
{
    /// <summary>Rank <paramref name="rank"/> of <paramref name="size"/>.</summary>
    /// <param name="rank">0 ≤ rank &lt; size.</param>
    /// <param name="size">The number of ranks, ≥ 1.</param>
    public DataShard(int rank, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, size);
        Rank = rank;
        Size = size;
    }

    /// <summary>This rank.</summary>
    public int Rank { get; }

    /// <summary>The number of ranks.</summary>
    public int Size { get; }

    /// <summary>The shard of <paramref name="communicator"/>'s rank.</summary>
    /// <param name="communicator">The job's communicator.</param>
    public static DataShard For(Communicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        return new DataShard(communicator.Rank, communicator.Size);
    }

    /// <summary>Whether global micro-batch <paramref name="index"/> belongs to this rank.</summary>
    /// <param name="index">The micro-batch's position in the single-rank order.</param>
    public bool Owns(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return index % Size == Rank;
    }

    /// <summary>The global index of this rank's <paramref name="localIndex"/>-th micro-batch.</summary>
    /// <param name="localIndex">0, 1, 2, … on this rank.</param>
    public long GlobalIndex(long localIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(localIndex);
        return checked((localIndex * Size) + Rank);
    }

    /// <summary>
    /// How many of <paramref name="total"/> micro-batches each rank trains on: whole rounds of <see cref="Size"/>
    /// only, the same on every rank (a rank with one more would wait in a collective nobody else calls).
    /// </summary>
    /// <param name="total">Micro-batches in the single-rank order.</param>
    public long CountPerRank(long total)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        return total / Size;
    }

    /// <summary>
    /// This rank's micro-batches from the single-rank sequence, lazily (works on unbounded streams). An
    /// incomplete last round is dropped on every rank, for the reason given in <see cref="CountPerRank"/>.
    /// </summary>
    /// <typeparam name="T">The micro-batch type.</typeparam>
    /// <param name="microBatches">Every micro-batch, in the single-rank order.</param>
    public IEnumerable<T> Select<T>(IEnumerable<T> microBatches)
    {
        ArgumentNullException.ThrowIfNull(microBatches);
        return Iterate(microBatches);
    }

    /// <inheritdoc/>
    public override string ToString() => $"shard {Rank} of {Size}";

    private IEnumerable<T> Iterate<T>(IEnumerable<T> microBatches)
    {
        long index = 0;
        T mine = default!;
        foreach (T item in microBatches)
        {
            int slot = (int)(index % Size);
            if (slot == Rank)
            {
                mine = item;
            }

            if (slot == Size - 1)
            {
                yield return mine; // the round is complete on every rank
            }

            index++;
        }
    }
}
