using MoR.Interop;

namespace MoR;

/// <summary>
/// The native buffer behind one tensor and its reshaped views. Each owning <see cref="Tensor"/> counts
/// once; the buffer is freed when the last one is disposed. Views that are never disposed keep it
/// until they are collected, and then the buffer handle's finalizer frees it (deferred, see
/// <see cref="NativeResources"/>).
/// </summary>
internal sealed class TensorStorage
{
    private int _owners = 1;

    public TensorStorage(Device device, BufferHandle buffer)
    {
        Device = device;
        Buffer = buffer;
    }

    public Device Device { get; }

    public BufferHandle Buffer { get; }

    public void AddOwner()
    {
        if (Interlocked.Increment(ref _owners) <= 1)
        {
            // Every caller owns a reference already, so the count cannot have been zero.
            throw new ObjectDisposedException(nameof(Tensor));
        }
    }

    public void ReleaseOwner()
    {
        if (Interlocked.Decrement(ref _owners) == 0)
        {
            Buffer.Dispose();
        }
    }
}
