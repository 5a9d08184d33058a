namespace MoR.IO;

/// <summary>
/// Streams one tensor's bytes into a file being written by <see cref="SafeTensorsWriter"/>: write exactly
/// the declared number of bytes, little-endian, row-major, in as many calls as convenient.
/// </summary>
/// <param name="destination">A write-only stream that refuses bytes past the tensor's length.</param>
public delegate void TensorDataWriter(Stream destination);
