using System.Runtime.InteropServices;
using System.Text;

namespace MoR.Interop;

/// <summary><c>mor_device_info</c>: static properties of one device.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MorDeviceInfo
{
    public const int NameCapacity = 256;

    public fixed byte Name[NameCapacity];
    public long TotalMemoryBytes;
    public int ComputeCapabilityMajor;
    public int ComputeCapabilityMinor;
    public int MultiprocessorCount;
    public int Reserved;

    /// <summary>The NUL-terminated UTF-8 <see cref="Name"/> as a string.</summary>
    public readonly string GetName()
    {
        fixed (byte* name = Name)
        {
            var bytes = new ReadOnlySpan<byte>(name, NameCapacity);
            int length = bytes.IndexOf((byte)0);
            return Encoding.UTF8.GetString(length < 0 ? bytes : bytes[..length]);
        }
    }
}
