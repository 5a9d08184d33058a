namespace MoR.Data;

/// <summary>
/// Where a <see cref="BatchLoader"/> stands: the epoch and the next position in that epoch's order.
/// The order of each epoch is a pure function of (seed, epoch), so this pair is the whole data-order
/// state a checkpoint needs for an exact resume.
/// </summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Position">The next row index within the epoch's shuffled order.</param>
public readonly record struct DataCursor(int Epoch, int Position);
