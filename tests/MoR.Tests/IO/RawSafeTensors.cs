using System.Buffers.Binary;
using System.Text;

namespace MoR.Tests.IO;

/// <summary>Builds safetensors files byte by byte, so tests can break any rule on purpose.</summary>
public static class RawSafeTensors
{
    /// <summary>8-byte little-endian length, then the header bytes, then the data.</summary>
    public static byte[] Build(byte[] header, byte[] data, ulong? declaredLength = null)
    {
        byte[] file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, declaredLength ?? (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    /// <summary>A file whose header is <paramref name="json"/> (UTF-8) followed by <paramref name="dataLength"/> zero bytes.</summary>
    public static byte[] Build(string json, int dataLength) => Build(Encoding.UTF8.GetBytes(json), new byte[dataLength]);

    /// <summary>Writes a file built from <paramref name="json"/> and <paramref name="dataLength"/> zero bytes.</summary>
    public static string Write(TempDirectory dir, string json, int dataLength, string name = "t.safetensors")
    {
        string path = dir.File(name);
        File.WriteAllBytes(path, Build(json, dataLength));
        return path;
    }
}
