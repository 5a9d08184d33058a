using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace MoR.IO;

/// <summary>
/// Collects tensors and writes them as one safetensors file. Tensors are laid out contiguously in the
/// order they were added; the JSON header is padded with spaces to a multiple of 8 bytes (as the
/// Hugging Face writer does) so the data section starts 8-byte aligned. <see cref="Save"/> is atomic:
/// see <see cref="AtomicFile"/>.
/// </summary>
public sealed class SafeTensorsWriter
{
    private readonly List<Entry> _entries = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);

    /// <summary>Number of tensors added so far.</summary>
    public int Count => _entries.Count;

    /// <summary>Sets a <c>__metadata__</c> entry (e.g. <c>format</c> = <c>pt</c>).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    public void SetMetadata(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        _metadata[key] = value;
    }

    /// <summary>Adds a tensor whose bytes are copied now.</summary>
    /// <param name="name">Unique tensor name.</param>
    /// <param name="dtype">Element type.</param>
    /// <param name="shape">Dimensions (none for a scalar).</param>
    /// <param name="data">Exactly element count × element size bytes, little-endian, row-major.</param>
    public void Add(string name, SafeTensorDType dtype, ReadOnlySpan<long> shape, ReadOnlySpan<byte> data)
    {
        long length = CheckAndMeasure(name, dtype, shape);
        if (data.Length != length)
        {
            throw new ArgumentException(
                $"Tensor '{name}': {dtype.ToSafeTensorsName()} {TensorInfo.FormatShape(shape.ToArray())} needs {length} bytes, got {data.Length}.", nameof(data));
        }

        byte[] copy = data.ToArray();
        _names.Add(name);
        _entries.Add(new Entry(name, dtype, shape.ToArray(), length, copy, null));
    }

    /// <summary>Adds a tensor whose elements are copied now.</summary>
    /// <typeparam name="T">An element type of the dtype's size.</typeparam>
    /// <param name="name">Unique tensor name.</param>
    /// <param name="dtype">Element type in the file.</param>
    /// <param name="shape">Dimensions (none for a scalar).</param>
    /// <param name="data">Exactly element count elements, row-major.</param>
    public void Add<T>(string name, SafeTensorDType dtype, ReadOnlySpan<long> shape, ReadOnlySpan<T> data)
        where T : unmanaged
    {
        if (Unsafe.SizeOf<T>() != dtype.ElementSize())
        {
            throw new ArgumentException(
                $"Tensor '{name}': {typeof(T).Name} is not {dtype.ElementSize()} bytes like {dtype.ToSafeTensorsName()}.", nameof(data));
        }

        Add(name, dtype, shape, MemoryMarshal.AsBytes(data));
    }

    /// <summary>Adds a tensor whose bytes are produced while the file is written: for tensors too large to hold twice.</summary>
    /// <param name="name">Unique tensor name.</param>
    /// <param name="dtype">Element type.</param>
    /// <param name="shape">Dimensions (none for a scalar).</param>
    /// <param name="writeData">Called once during <see cref="Save"/>; must write exactly element count × element size bytes.</param>
    public void AddStreamed(string name, SafeTensorDType dtype, ReadOnlySpan<long> shape, TensorDataWriter writeData)
    {
        ArgumentNullException.ThrowIfNull(writeData);
        long length = CheckAndMeasure(name, dtype, shape);
        _names.Add(name);
        _entries.Add(new Entry(name, dtype, shape.ToArray(), length, null, writeData));
    }

    /// <summary>Adds a device tensor, downloaded when the file is written.</summary>
    /// <param name="name">Unique tensor name.</param>
    /// <param name="tensor">The tensor; it must stay alive until <see cref="Save"/> returns.</param>
    public void Add(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        long bytes = checked(tensor.Numel * tensor.DType.ElementSize);
        if (bytes > Array.MaxLength)
        {
            throw new NotSupportedException($"Tensor '{name}' has {bytes} bytes, more than one host array holds.");
        }

        AddStreamed(name, tensor.DType.ToSafeTensorDType(), tensor.Shape, s =>
        {
            byte[] host = new byte[bytes];
            tensor.CopyToBytes(host);
            s.Write(host);
        });
    }

    /// <summary>The header JSON (without the length prefix), padded with spaces to a multiple of 8 bytes.</summary>
    /// <returns>UTF-8 bytes.</returns>
    public byte[] BuildHeader()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (_metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach ((string key, string value) in _metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (Entry e in _entries)
            {
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", e.DType.ToSafeTensorsName());
                json.WriteStartArray("shape");
                foreach (long d in e.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + e.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += e.Length;
            }

            json.WriteEndObject();
        }

        int padded = (int)((buffer.Length + 7) / 8 * 8);
        while (buffer.Length < padded)
        {
            buffer.WriteByte((byte)' ');
        }

        return buffer.ToArray();
    }

    /// <summary>Writes the file atomically: on any failure (including a throwing data writer) the temporary
    /// file is removed and an existing file at <paramref name="path"/> is left as it was.</summary>
    /// <param name="path">The file to create or replace.</param>
    public void Save(string path)
    {
        byte[] header = BuildHeader();
        AtomicFile.Write(path, stream =>
        {
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            stream.Write(prefix);
            stream.Write(header);
            foreach (Entry e in _entries)
            {
                if (e.Bytes is not null)
                {
                    stream.Write(e.Bytes);
                    continue;
                }

                var counted = new TensorDataStream(stream, e.Name, e.Length);
                e.Writer!(counted);
                if (counted.Written != e.Length)
                {
                    throw new InvalidOperationException(
                        $"The data writer of tensor '{e.Name}' wrote {counted.Written} bytes, not {e.Length}.");
                }
            }
        });
    }

    private long CheckAndMeasure(string name, SafeTensorDType dtype, ReadOnlySpan<long> shape)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name == "__metadata__")
        {
            throw new ArgumentException("'__metadata__' is reserved by the format and cannot name a tensor.", nameof(name));
        }

        if (_names.Contains(name))
        {
            throw new ArgumentException($"A tensor named '{name}' was already added.", nameof(name));
        }

        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Tensor '{name}': shape {TensorInfo.FormatShape(shape.ToArray())} has a negative dimension.", nameof(shape));
            }

            count = checked(count * d);
        }

        return checked(count * dtype.ElementSize());
    }

    private sealed record Entry(string Name, SafeTensorDType DType, long[] Shape, long Length, byte[]? Bytes, TensorDataWriter? Writer);
}
