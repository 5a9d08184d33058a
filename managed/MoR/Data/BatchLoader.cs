using MoR.Numerics;

namespace MoR.Data;

/// <summary>
/// Yields micro-batches from packed rows, reshuffled every epoch with an order fixed by (seed, epoch),
/// endlessly (a step count, not an epoch count, ends training). Batches may span an epoch boundary.
/// </summary>
public sealed class BatchLoader
{
    private readonly IReadOnlyList<PackedSequence> _rows;
    private readonly ulong _seed;
    private int[] _order;

    /// <summary>A loader over <paramref name="rows"/> starting at epoch 0.</summary>
    /// <param name="rows">The packed rows (at least one).</param>
    /// <param name="batchSize">Rows per micro-batch.</param>
    /// <param name="seed">Fixes every epoch's order.</param>
    /// <param name="shuffle">Shuffle each epoch (evaluation passes false).</param>
    public BatchLoader(IReadOnlyList<PackedSequence> rows, int batchSize, ulong seed, bool shuffle = true)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (rows.Count == 0)
        {
            throw new ArgumentException("There is no training data: no rows after packing.", nameof(rows));
        }

        _rows = rows;
        _seed = seed;
        BatchSize = batchSize;
        Shuffle = shuffle;
        _order = OrderOf(0);
    }

    /// <summary>Rows per micro-batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch is shuffled.</summary>
    public bool Shuffle { get; }

    /// <summary>The number of rows in one epoch.</summary>
    public int RowCount => _rows.Count;

    /// <summary>Where the next batch starts; set it to resume.</summary>
    public DataCursor Cursor
    {
        get;
        set
        {
            if (value.Epoch < 0 || value.Position < 0 || value.Position > _rows.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, $"Data cursor outside an epoch of {_rows.Count} rows.");
            }

            if (value.Epoch != field.Epoch)
            {
                _order = OrderOf(value.Epoch);
            }

            field = value;
        }
    }

    /// <summary>The next micro-batch.</summary>
    public TokenBatch Next()
    {
        var picked = new PackedSequence[BatchSize];
        for (int i = 0; i < BatchSize; i++)
        {
            if (Cursor.Position >= _rows.Count)
            {
                Cursor = new DataCursor(Cursor.Epoch + 1, 0);
            }

            picked[i] = _rows[_order[Cursor.Position]];
            Cursor = Cursor with { Position = Cursor.Position + 1 };
        }

        return TokenBatch.FromRows(picked);
    }

    // Fisher–Yates with a generator seeded by (seed, epoch): any epoch's order can be rebuilt on resume.
    private int[] OrderOf(int epoch)
    {
        int[] order = Enumerable.Range(0, _rows.Count).ToArray();
        if (!Shuffle)
        {
            return order;
        }

        var rng = new SeededRandom(_seed ^ (0x9E3779B97F4A7C15UL * (ulong)(epoch + 1)));
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }
}
