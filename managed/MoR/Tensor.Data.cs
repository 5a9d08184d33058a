using System.Buffers;
using MoR.Interop;

namespace MoR;

public sealed partial class Tensor
{
    // Cross-device copies are staged through host memory in pieces of this many bytes.
    private const int StagingBytes = 64 << 20;

    /// <summary>Copies all elements from host memory into the tensor.</summary>
    /// <typeparam name="T">The element type matching <see cref="DType"/>.</typeparam>
    /// <param name="source">Exactly <see cref="Numel"/> elements in row-major order.</param>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> does not match <see cref="DType"/>, or the length differs.</exception>
    public unsafe void CopyFrom<T>(ReadOnlySpan<T> source)
        where T : unmanaged
    {
        ThrowIfElementMismatch<T>(nameof(source));
        ThrowIfLengthMismatch(source.Length, nameof(source));
        fixed (T* host = source)
        {
            NativeCall.Check(
                NativeMethods.mor_buffer_upload(Handle, 0, host, Numel, StreamHandle.Default), nameof(NativeMethods.mor_buffer_upload));
        }
    }

    /// <summary>Copies all elements into host memory; returns when the data is there.</summary>
    /// <typeparam name="T">The element type matching <see cref="DType"/>.</typeparam>
    /// <param name="destination">Exactly <see cref="Numel"/> elements.</param>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> does not match <see cref="DType"/>, or the length differs.</exception>
    public unsafe void CopyTo<T>(Span<T> destination)
        where T : unmanaged
    {
        ThrowIfElementMismatch<T>(nameof(destination));
        ThrowIfLengthMismatch(destination.Length, nameof(destination));
        fixed (T* host = destination)
        {
            NativeCall.Check(
                NativeMethods.mor_buffer_download(Handle, 0, host, Numel, StreamHandle.Default), nameof(NativeMethods.mor_buffer_download));
        }
    }

    /// <summary>Copies the raw bytes of all elements (for example a safetensors payload) into the tensor.</summary>
    /// <param name="source">Exactly <see cref="Numel"/> × element size bytes, little-endian.</param>
    /// <exception cref="ArgumentException">The length differs.</exception>
    public unsafe void CopyFromBytes(ReadOnlySpan<byte> source)
    {
        ThrowIfByteLengthMismatch(source.Length, nameof(source));
        fixed (byte* host = source)
        {
            NativeCall.Check(
                NativeMethods.mor_buffer_upload(Handle, 0, host, Numel, StreamHandle.Default), nameof(NativeMethods.mor_buffer_upload));
        }
    }

    /// <summary>Copies the raw bytes of all elements into host memory.</summary>
    /// <param name="destination">Exactly <see cref="Numel"/> × element size bytes.</param>
    /// <exception cref="ArgumentException">The length differs.</exception>
    public unsafe void CopyToBytes(Span<byte> destination)
    {
        ThrowIfByteLengthMismatch(destination.Length, nameof(destination));
        fixed (byte* host = destination)
        {
            NativeCall.Check(
                NativeMethods.mor_buffer_download(Handle, 0, host, Numel, StreamHandle.Default), nameof(NativeMethods.mor_buffer_download));
        }
    }

    /// <summary>A new host array with all elements in row-major order.</summary>
    /// <typeparam name="T">The element type matching <see cref="DType"/>.</typeparam>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> does not match <see cref="DType"/>.</exception>
    /// <exception cref="InvalidOperationException">The tensor has more elements than an array can hold.</exception>
    public T[] ToArray<T>()
        where T : unmanaged
    {
        ThrowIfElementMismatch<T>(paramName: null);
        if (Numel > Array.MaxLength)
        {
            throw new InvalidOperationException($"{this} has {Numel} elements, more than an array can hold; use CopyTo on slices of the data.");
        }

        var array = new T[Numel];
        CopyTo<T>(array);
        return array;
    }

    /// <summary>Sets every element to <paramref name="value"/>, converted to <see cref="DType"/> (F16/BF16 round to nearest even).</summary>
    /// <param name="value">The value.</param>
    public void Fill(double value) => Ops.Fill(this, 0, Numel, value);

    /// <summary>A new tensor with the same shape, device and data.</summary>
    public Tensor Clone()
    {
        Tensor copy = Empty(Device, DType, Shape);
        try
        {
            Ops.Copy(this, copy);
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A new tensor with the elements converted to <paramref name="dtype"/> (round to nearest even).
    /// Conversions are between F32, F16 and BF16; the same dtype gives a copy.
    /// </summary>
    /// <param name="dtype">The element type of the result.</param>
    /// <exception cref="ArgumentException">A conversion to or from an integer type.</exception>
    public Tensor To(DType dtype)
    {
        ThrowIfUnknown(dtype);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (dtype == DType)
        {
            return Clone();
        }

        if (!DType.IsFloatingPoint || !dtype.IsFloatingPoint)
        {
            throw new ArgumentException($"Cannot convert {DType} to {dtype}: conversions are between F32, F16 and BF16.", nameof(dtype));
        }

        Tensor result = Empty(Device, dtype, Shape);
        try
        {
            NativeCall.Check(NativeMethods.mor_cast(result.Handle, Handle, StreamHandle.Default), nameof(NativeMethods.mor_cast));
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>A copy of this tensor on <paramref name="device"/> (staged through host memory between devices).</summary>
    /// <param name="device">Where the copy goes; the same device gives a plain copy.</param>
    public unsafe Tensor To(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (ReferenceEquals(device, Device))
        {
            return Clone();
        }

        Tensor result = Empty(device, DType, Shape);
        int elementSize = DType.ElementSize;
        long chunk = StagingBytes / elementSize;
        byte[] staging = ArrayPool<byte>.Shared.Rent((int)Math.Min(Numel * elementSize, StagingBytes));
        try
        {
            fixed (byte* host = staging)
            {
                for (long offset = 0; offset < Numel; offset += chunk)
                {
                    long count = Math.Min(chunk, Numel - offset);
                    NativeCall.Check(
                        NativeMethods.mor_buffer_download(Handle, offset, host, count, StreamHandle.Default), nameof(NativeMethods.mor_buffer_download));
                    NativeCall.Check(
                        NativeMethods.mor_buffer_upload(result.Handle, offset, host, count, StreamHandle.Default), nameof(NativeMethods.mor_buffer_upload));
                }
            }

            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(staging);
        }
    }

    private void ThrowIfElementMismatch<T>(string? paramName)
        where T : unmanaged
    {
        DType? requested = DTypeExtensions.DTypeOf<T>();
        if (requested is null)
        {
            throw UnsupportedElementType<T>(paramName);
        }

        if (requested != DType)
        {
            throw new ArgumentException($"{this} holds {DType} elements, not {typeof(T).Name} ({requested}).", paramName);
        }
    }

    private void ThrowIfLengthMismatch(int length, string paramName)
    {
        if (length != Numel)
        {
            throw new ArgumentException($"{this} has {Numel} elements but the span has {length}.", paramName);
        }
    }

    private void ThrowIfByteLengthMismatch(int length, string paramName)
    {
        long expected = Numel * DType.ElementSize;
        if (length != expected)
        {
            throw new ArgumentException($"{this} holds {expected} bytes but the span has {length}.", paramName);
        }
    }
}
