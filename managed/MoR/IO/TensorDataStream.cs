namespace MoR.IO;

/// <summary>
/// The stream a <see cref="TensorDataWriter"/> sees: forwards to the file, counts, and refuses to go
/// past the tensor's declared length, so one tensor cannot spill into the next.
/// </summary>
internal sealed class TensorDataStream(Stream inner, string tensorName, long length) : Stream
{
    public long Written { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => Written;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (Written + buffer.Length > length)
        {
            throw new InvalidOperationException(
                $"The data writer of tensor '{tensorName}' wrote more than its {length} bytes.");
        }

        inner.Write(buffer);
        Written += buffer.Length;
    }

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
