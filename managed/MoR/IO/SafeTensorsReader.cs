using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace MoR.IO;

/// <summary>
/// A safetensors file mapped read-only into memory. Opening validates the whole header (see
/// <see cref="SafeTensorsViolation"/> for the rules); tensor data is then read in place, without copies,
/// through spans and pointers that stay valid until the reader is disposed.
/// </summary>
/// <remarks>
/// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the data section, which
/// the tensors must tile exactly. Offsets in <see cref="TensorInfo"/> are relative to the data section.
/// Not thread-safe to dispose while other threads read; reading from several threads is fine.
/// </remarks>
public sealed unsafe class SafeTensorsReader : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly Dictionary<string, TensorInfo> _byName;
    private byte* _base;
    private bool _disposed;

    private SafeTensorsReader(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePointer, long fileLength)
    {
        FilePath = path;
        _map = map;
        _view = view;
        _base = basePointer;
        FileLength = fileLength;
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(basePointer, 8));
        HeaderLength = (long)headerLength;
        DataStart = 8 + HeaderLength;
        var header = SafeTensorsHeader.Parse(
            path, new ReadOnlySpan<byte>(basePointer + 8, checked((int)HeaderLength)), fileLength - DataStart);
        Tensors = header.Tensors;
        Metadata = header.Metadata;
        _byName = new Dictionary<string, TensorInfo>(header.Tensors.Count, StringComparer.Ordinal);
        foreach (TensorInfo t in header.Tensors)
        {
            _byName.Add(t.Name, t);
        }
    }

    /// <summary>The file, as given to <see cref="Open"/>.</summary>
    public string FilePath { get; }

    /// <summary>Size of the file in bytes.</summary>
    public long FileLength { get; }

    /// <summary>Length N of the JSON header.</summary>
    public long HeaderLength { get; }

    /// <summary>File offset of the data section (8 + <see cref="HeaderLength"/>).</summary>
    public long DataStart { get; }

    /// <summary>All tensors, in the order of their data in the file.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The header's <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens, maps and validates a safetensors file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The reader; dispose it to unmap the file.</returns>
    /// <exception cref="SafeTensorsFormatException">The file breaks a rule of the format.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafeTensorsReader Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);

        // FileShare.Delete lets a writer atomically replace the file while it is mapped here.
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1);
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        byte* pointer = null;
        try
        {
            long length = stream.Length;
            Span<byte> prefix = stackalloc byte[8];
            if (length < 8)
            {
                throw new SafeTensorsFormatException(
                    path, null, SafeTensorsViolation.FileTooShort, $"the file has {length} bytes, fewer than the 8-byte header length prefix");
            }

            stream.ReadExactly(prefix);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > SafeTensorsHeader.MaxHeaderLength)
            {
                throw new SafeTensorsFormatException(
                    path, null, SafeTensorsViolation.HeaderTooLarge, $"the header length prefix is {headerLength} bytes, over the 100 MB ({SafeTensorsHeader.MaxHeaderLength} bytes) limit");
            }

            if (headerLength > (ulong)(length - 8))
            {
                throw new SafeTensorsFormatException(
                    path, null, SafeTensorsViolation.HeaderBeyondEndOfFile, $"the header length prefix is {headerLength} bytes but only {length - 8} bytes follow it");
            }

            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            return new SafeTensorsReader(path, map, view, pointer + view.PointerOffset, length);
        }
        catch
        {
            if (pointer != null)
            {
                view!.SafeMemoryMappedViewHandle.ReleasePointer();
            }

            view?.Dispose();
            if (map is not null)
            {
                map.Dispose();
            }
            else
            {
                stream.Dispose();
            }

            throw;
        }
    }

    /// <summary>Whether the file has a tensor of this name.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns><see langword="true"/> if present.</returns>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Looks a tensor up by name.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="info">Its header entry.</param>
    /// <returns><see langword="true"/> if present.</returns>
    public bool TryGetInfo(string name, out TensorInfo info) => _byName.TryGetValue(name, out info!);

    /// <summary>The header entry of a tensor.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>Its entry.</returns>
    /// <exception cref="KeyNotFoundException">No such tensor; the message names the file.</exception>
    public TensorInfo GetInfo(string name) => _byName.TryGetValue(name, out TensorInfo? info)
        ? info
        : throw new KeyNotFoundException($"'{FilePath}' has no tensor named '{name}'.");

    /// <summary>The tensor's bytes, in place in the mapped file.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>A view valid until the reader is disposed.</returns>
    /// <exception cref="KeyNotFoundException">No such tensor.</exception>
    /// <exception cref="NotSupportedException">The tensor is 2 GiB or larger: use <see cref="GetBytes(TensorInfo, long, int)"/> in pieces or <see cref="GetPointer(TensorInfo)"/>.</exception>
    public ReadOnlySpan<byte> GetBytes(string name) => GetBytes(GetInfo(name));

    /// <summary>The tensor's bytes, in place in the mapped file.</summary>
    /// <param name="info">An entry of this reader's <see cref="Tensors"/>.</param>
    /// <returns>A view valid until the reader is disposed.</returns>
    public ReadOnlySpan<byte> GetBytes(TensorInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (info.ByteLength > int.MaxValue)
        {
            throw new NotSupportedException(
                $"Tensor '{info.Name}' in '{FilePath}' has {info.ByteLength} bytes, more than one span can show; read it in pieces with GetBytes(info, offset, count).");
        }

        return GetBytes(info, 0, (int)info.ByteLength);
    }

    /// <summary>A piece of the tensor's bytes, in place: for tensors too large for one span.</summary>
    /// <param name="info">An entry of this reader's <see cref="Tensors"/>.</param>
    /// <param name="offset">Byte offset within the tensor.</param>
    /// <param name="count">Number of bytes.</param>
    /// <returns>A view valid until the reader is disposed.</returns>
    public ReadOnlySpan<byte> GetBytes(TensorInfo info, long offset, int count)
    {
        byte* p = GetPointer(info);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (offset + count > info.ByteLength)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"Bytes [{offset}, {offset + count}) are outside tensor '{info.Name}' ({info.ByteLength} bytes).");
        }

        return new ReadOnlySpan<byte>(p + offset, count);
    }

    /// <summary>The tensor's elements, in place, reinterpreted as <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">An element type of the tensor's size, e.g. <see cref="float"/> for F32, <see cref="Half"/> for F16, <see cref="BFloat16"/> for BF16.</typeparam>
    /// <param name="name">The tensor name.</param>
    /// <returns>A view valid until the reader is disposed. Data may be unaligned; x64 and Arm64 read it fine.</returns>
    /// <exception cref="ArgumentException">The size of <typeparamref name="T"/> is not the dtype's element size.</exception>
    public ReadOnlySpan<T> GetSpan<T>(string name)
        where T : unmanaged
    {
        TensorInfo info = GetInfo(name);
        if (sizeof(T) != info.DType.ElementSize())
        {
            throw new ArgumentException(
                $"Tensor '{name}' in '{FilePath}' is {info.DType.ToSafeTensorsName()} ({info.DType.ElementSize()} bytes per element); {typeof(T).Name} has {sizeof(T)}.", nameof(T));
        }

        return MemoryMarshal.Cast<byte, T>(GetBytes(info));
    }

    /// <summary>Address of the tensor's first byte in the mapping.</summary>
    /// <param name="info">An entry of this reader's <see cref="Tensors"/>.</param>
    /// <returns>A pointer valid until the reader is disposed.</returns>
    public byte* GetPointer(TensorInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_byName.TryGetValue(info.Name, out TensorInfo? own) || own != info)
        {
            throw new ArgumentException($"Tensor entry '{info.Name}' does not belong to '{FilePath}'.", nameof(info));
        }

        return _base + DataStart + info.Begin;
    }

    /// <summary>Throws when the tensor (F32, F16 or BF16) holds a NaN or an infinity; other dtypes pass. One vectorised pass over the bytes (<see cref="FiniteScan"/>).</summary>
    /// <param name="info">An entry of this reader's <see cref="Tensors"/>.</param>
    /// <exception cref="NonFiniteTensorException">The first non-finite element, with the tensor's name.</exception>
    public void EnsureFinite(TensorInfo info)
    {
        byte* p = GetPointer(info);
        long at = FiniteScan.FirstNonFinite(p, info.ByteLength, info.DType);
        if (at >= 0)
        {
            int size = info.DType.ElementSize();
            string value = FiniteScan.Describe(new ReadOnlySpan<byte>(p + (at * size), size), info.DType, 0);
            throw new NonFiniteTensorException(FilePath, info.Name, at, value);
        }
    }

    /// <summary>Copies a tensor into a new device tensor, then drops the copied pages of the mapping from the resident set (<see cref="MappedPages"/>).</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="device">Where to allocate it.</param>
    /// <returns>A tensor the caller owns.</returns>
    /// <exception cref="NotSupportedException">The dtype is not a compute type (F32, F16, BF16, I32, I64).</exception>
    public Tensor ReadTensor(string name, Device device)
    {
        TensorInfo info = GetInfo(name);
        DType dtype = info.DType.ToDType(FilePath, name);
        Tensor tensor = Tensor.Empty(device, dtype, [.. info.Shape]);
        try
        {
            tensor.CopyFromBytes(GetBytes(info));
            MappedPages.Release(GetPointer(info), info.ByteLength);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>Unmaps the file; spans and pointers obtained from this reader become invalid.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _base = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}
