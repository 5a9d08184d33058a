using MoR.Interop;

namespace MoR;

/// <summary>
/// A dense, row-major array of one <see cref="MoR.DType"/> on one <see cref="MoR.Device"/>, owning a native
/// buffer. Dispose it when done: the memory is returned to the device's allocator at once. A tensor that
/// is only collected is freed too, later, on the next native allocation.
/// </summary>
/// <remarks>
/// There are no element indexers and no implicit host/device copies: data moves through
/// <see cref="CopyFrom{T}"/>, <see cref="CopyTo{T}"/> and <see cref="ToArray{T}"/>. Every shape, dtype and
/// device check happens here, before any native call, and throws <see cref="ArgumentException"/>.
/// A tensor is not safe for concurrent use from several threads.
/// </remarks>
public sealed partial class Tensor : IDisposable
{
    private readonly TensorStorage _storage;
    private readonly long[] _shape;
    private int _disposed;

    private Tensor(TensorStorage storage, DType dtype, long[] shape, long numel)
    {
        _storage = storage;
        DType = dtype;
        _shape = shape;
        Numel = numel;
    }

    /// <summary>The size of each dimension, outermost first. Empty for a scalar.</summary>
    public ReadOnlySpan<long> Shape => _shape;

    /// <summary>The number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements (the product of <see cref="Shape"/>).</summary>
    public long Numel { get; }

    /// <summary>The element type.</summary>
    public DType DType { get; }

    /// <summary>The device holding the data.</summary>
    public Device Device => _storage.Device;

    /// <summary>Whether <see cref="Dispose"/> has been called.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// The native buffer, for passing this tensor to native ops. It is shared with reshaped views of the same
    /// data; never dispose it directly.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The tensor was disposed.</exception>
    internal BufferHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return _storage.Buffer;
        }
    }

    /// <summary>An uninitialised tensor.</summary>
    /// <param name="device">Where to allocate it.</param>
    /// <param name="dtype">The element type.</param>
    /// <param name="shape">The dimensions; none for a scalar.</param>
    /// <exception cref="ArgumentException">A dimension is negative or the element count overflows.</exception>
    /// <exception cref="NativeOutOfMemoryException">The device is out of memory.</exception>
    public static Tensor Empty(Device device, DType dtype, params ReadOnlySpan<long> shape)
    {
        ArgumentNullException.ThrowIfNull(device);
        ThrowIfUnknown(dtype);
        long numel = CountElements(shape, nameof(shape));
        BufferHandle buffer = BufferHandle.Create(device.Context, dtype.ToNative(), numel);
        return new Tensor(new TensorStorage(device, buffer), dtype, shape.ToArray(), numel);
    }

    /// <summary>A tensor filled with zeros.</summary>
    /// <inheritdoc cref="Empty(Device, DType, ReadOnlySpan{long})"/>
    public static Tensor Zeros(Device device, DType dtype, params ReadOnlySpan<long> shape)
    {
        Tensor tensor = Empty(device, dtype, shape);
        try
        {
            tensor.Fill(0);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>A tensor holding a copy of <paramref name="data"/>; the dtype follows <typeparamref name="T"/>.</summary>
    /// <typeparam name="T"><see cref="float"/>, <see cref="Half"/>, <see cref="BFloat16"/>, <see cref="int"/> or <see cref="long"/>.</typeparam>
    /// <param name="device">Where to allocate it.</param>
    /// <param name="data">The elements in row-major order.</param>
    /// <param name="shape">The dimensions; none for a 1-D tensor of <c>data.Length</c> elements.</param>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> is not an element type, or the shape does not hold exactly <c>data.Length</c> elements.</exception>
    public static Tensor FromSpan<T>(Device device, ReadOnlySpan<T> data, params ReadOnlySpan<long> shape)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(device);
        DType dtype = DTypeExtensions.DTypeOf<T>() ?? throw UnsupportedElementType<T>(nameof(data));
        ReadOnlySpan<long> actualShape = shape.IsEmpty ? [data.Length] : shape;
        long numel = CountElements(actualShape, nameof(shape));
        if (numel != data.Length)
        {
            throw new ArgumentException(
                $"Shape {ShapeText.Format(actualShape)} holds {numel} elements but {data.Length} were given.", nameof(data));
        }

        Tensor tensor = Empty(device, dtype, actualShape);
        try
        {
            tensor.CopyFrom(data);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A view of the same data with another shape (same element count). One dimension may be -1: it is
    /// inferred. The view owns a share of the buffer: dispose it too; the memory goes with the last owner.
    /// </summary>
    /// <param name="shape">The new dimensions.</param>
    /// <exception cref="ArgumentException">The element count differs, a dimension is invalid, or -1 appears twice.</exception>
    public Tensor Reshape(params ReadOnlySpan<long> shape)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        long[] newShape = shape.ToArray();
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < newShape.Length; i++)
        {
            if (newShape[i] == -1 && inferred < 0)
            {
                inferred = i;
            }
            else if (newShape[i] < 0)
            {
                throw new ArgumentException($"Cannot reshape {ShapeText.Format(_shape)} to {ShapeText.Format(shape)}: invalid dimension {newShape[i]} at {i}.", nameof(shape));
            }
            else
            {
                known = checked(known * newShape[i]);
            }
        }

        if (inferred >= 0)
        {
            if (known == 0 || Numel % known != 0)
            {
                throw new ArgumentException($"Cannot reshape {ShapeText.Format(_shape)} ({Numel} elements) to {ShapeText.Format(shape)}.", nameof(shape));
            }

            newShape[inferred] = Numel / known;
        }
        else if (known != Numel)
        {
            throw new ArgumentException($"Cannot reshape {ShapeText.Format(_shape)} ({Numel} elements) to {ShapeText.Format(shape)} ({known} elements).", nameof(shape));
        }

        _storage.AddOwner();
        return new Tensor(_storage, DType, newShape, Numel);
    }

    /// <summary>Releases this tensor's share of the native buffer; the buffer is freed with its last owner.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _storage.ReleaseOwner();
        }
    }

    /// <summary>For example <c>Tensor(BF16, [2, 3], cuda:0)</c>.</summary>
    public override string ToString() =>
        $"Tensor({DType}, {ShapeText.Format(_shape)}, {Device}{(IsDisposed ? ", disposed" : string.Empty)})";

    private static long CountElements(ReadOnlySpan<long> shape, string paramName)
    {
        long numel = 1;
        foreach (long dimension in shape)
        {
            if (dimension < 0)
            {
                throw new ArgumentException($"Shape {ShapeText.Format(shape)} has a negative dimension.", paramName);
            }

            try
            {
                numel = checked(numel * dimension);
            }
            catch (OverflowException)
            {
                throw new ArgumentException($"Shape {ShapeText.Format(shape)} has more than {long.MaxValue} elements.", paramName);
            }
        }

        return numel;
    }

    private static void ThrowIfUnknown(DType dtype)
    {
        if (!Enum.IsDefined(dtype))
        {
            throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown DType.");
        }
    }

    private static ArgumentException UnsupportedElementType<T>(string? paramName) =>
        new($"{typeof(T).Name} is not a tensor element type (float, Half, BFloat16, int or long).", paramName);
}
