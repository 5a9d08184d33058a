namespace MoR.Interop;

/// <summary>
/// The requested device cannot be used (<see cref="NativeStatus.NoDevice"/>): no driver, no GPU, an index
/// out of range, or a native library built without that backend. The process can continue on the CPU.
/// </summary>
public class DeviceUnavailableException : MoRNativeException
{
    /// <summary>Creates an exception for a device that could not be opened.</summary>
    /// <param name="operation">The native function or managed operation that failed.</param>
    /// <param name="reason">Why the device is unavailable, as the native library reported it.</param>
    public DeviceUnavailableException(string operation, string reason)
        : base(NativeStatus.NoDevice, operation, reason)
    {
    }
}
