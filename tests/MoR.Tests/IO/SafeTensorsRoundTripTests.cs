using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using MoR.IO;

namespace MoR.Tests.IO;

/// <summary>Files the writer produces read back exactly, in every dtype and corner case.</summary>
public sealed class SafeTensorsRoundTripTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void AllComputeDTypesRoundTrip()
    {
        float[] f32 = [1.5f, -2.25f, float.MaxValue, float.Epsilon, 0f, -0f];
        Half[] f16 = [(Half)1.5f, (Half)(-0.125f), Half.MaxValue, Half.Epsilon];
        BFloat16[] bf16 = [(BFloat16)1.5f, (BFloat16)(-3f), BFloat16.MaxValue, BFloat16.Epsilon];
        int[] i32 = [int.MinValue, -1, 0, 1, int.MaxValue, 7];
        long[] i64 = [long.MinValue, long.MaxValue, 42];

        var writer = new SafeTensorsWriter();
        writer.Add<float>("f32", SafeTensorDType.F32, [2, 3], f32);
        writer.Add<Half>("f16", SafeTensorDType.F16, [4], f16);
        writer.Add<BFloat16>("bf16", SafeTensorDType.BF16, [2, 2], bf16);
        writer.Add<int>("i32", SafeTensorDType.I32, [3, 2], i32);
        writer.Add<long>("i64", SafeTensorDType.I64, [3], i64);
        string path = _dir.File("all.safetensors");
        writer.Save(path);

        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        Assert.Equal(["f32", "f16", "bf16", "i32", "i64"], reader.Tensors.Select(t => t.Name));
        Assert.Equal(f32, reader.GetSpan<float>("f32").ToArray());
        Assert.Equal(f16, reader.GetSpan<Half>("f16").ToArray());
        Assert.Equal(bf16.Select(b => b.RawValue), reader.GetSpan<BFloat16>("bf16").ToArray().Select(b => b.RawValue));
        Assert.Equal(i32, reader.GetSpan<int>("i32").ToArray());
        Assert.Equal(i64, reader.GetSpan<long>("i64").ToArray());

        TensorInfo info = reader.GetInfo("i32");
        Assert.Equal(SafeTensorDType.I32, info.DType);
        Assert.Equal([3L, 2L], info.Shape);
        Assert.Equal(6, info.ElementCount);
        Assert.Equal(24, info.ByteLength);
        Assert.Equal(DType.I32, info.DType.ToDType());
        Assert.Equal(info.Begin, info.DataOffsets.Begin);
    }

    [Fact]
    public void TensorsAreContiguousInOrderGiven()
    {
        var writer = new SafeTensorsWriter();
        writer.Add("z", SafeTensorDType.U8, [3], new byte[] { 1, 2, 3 });
        writer.Add("a", SafeTensorDType.I16, [2], new byte[] { 4, 5, 6, 7 });
        string path = _dir.File("order.safetensors");
        writer.Save(path);

        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        Assert.Equal((0L, 3L), reader.GetInfo("z").DataOffsets);
        Assert.Equal((3L, 7L), reader.GetInfo("a").DataOffsets);
        Assert.Equal(reader.FileLength, reader.DataStart + 7);
    }

    [Fact]
    public void HeaderIsPaddedWithSpacesToEightBytes()
    {
        for (int nameLength = 1; nameLength <= 9; nameLength++)
        {
            var writer = new SafeTensorsWriter();
            writer.Add(new string('n', nameLength), SafeTensorDType.F32, [1], new byte[4]);
            string path = _dir.File($"pad{nameLength}.safetensors");
            writer.Save(path);
            byte[] bytes = File.ReadAllBytes(path);
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            Assert.Equal(0UL, n % 8);
            string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
            Assert.EndsWith("}", header.TrimEnd(' '), StringComparison.Ordinal);
            Assert.True(header.TrimEnd(' ').Length > (int)n - 8, "padding is at most 7 spaces");
            using SafeTensorsReader reader = SafeTensorsReader.Open(path);
            Assert.Equal(0, reader.DataStart % 8);
        }
    }

    [Fact]
    public void NonAsciiNamesAndMetadata()
    {
        var writer = new SafeTensorsWriter();
        writer.SetMetadata("format", "pt");
        writer.SetMetadata("описание", "模型 \"quoted\" \\ \n");
        writer.Add<float>("слой.0.вес", SafeTensorDType.F32, [2], [1f, 2f]);
        writer.Add<float>("层🚀", SafeTensorDType.F32, [1], [3f]);
        string path = _dir.File("unicode.safetensors");
        writer.Save(path);

        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        Assert.Equal([1f, 2f], reader.GetSpan<float>("слой.0.вес").ToArray());
        Assert.Equal([3f], reader.GetSpan<float>("层🚀").ToArray());
        Assert.Equal("pt", reader.Metadata["format"]);
        Assert.Equal("模型 \"quoted\" \\ \n", reader.Metadata["описание"]);
    }

    [Fact]
    public void EmptyTensorsAndScalars()
    {
        var writer = new SafeTensorsWriter();
        writer.Add("empty_first", SafeTensorDType.F32, [0, 5], []);
        writer.Add<float>("scalar", SafeTensorDType.F32, [], [7f]);
        writer.Add("empty_mid", SafeTensorDType.BF16, [3, 0], []);
        writer.Add<long>("vec", SafeTensorDType.I64, [1], [9]);
        writer.Add("empty_last", SafeTensorDType.I32, [0], []);
        string path = _dir.File("empty.safetensors");
        writer.Save(path);

        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        Assert.Equal(5, reader.Tensors.Count);
        Assert.Equal(0, reader.GetBytes("empty_first").Length);
        Assert.Equal(0, reader.GetInfo("empty_mid").ElementCount);
        Assert.Equal([7f], reader.GetSpan<float>("scalar").ToArray());
        Assert.Empty(reader.GetInfo("scalar").Shape);
        Assert.Equal(1, reader.GetInfo("scalar").ElementCount);
        Assert.Equal([9L], reader.GetSpan<long>("vec").ToArray());
    }

    [Fact]
    public void FileWithNoTensors()
    {
        var writer = new SafeTensorsWriter();
        string path = _dir.File("none.safetensors");
        writer.Save(path);
        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        Assert.Empty(reader.Tensors);
        Assert.Empty(reader.Metadata);
    }

    [Fact]
    public void HandMadeFileWithUnpaddedHeaderAndEscapes()
    {
        // As another writer might produce: no padding, escaped name, fields in another order.
        const string Json = """{"we\u00efght":{"data_offsets":[0,8],"shape":[2],"dtype":"F32"},"__metadata__":{"k":"v"}}""";
        byte[] data = MemoryMarshal.AsBytes<float>([1f, -1f]).ToArray();
        string path = _dir.File("hand.safetensors");
        File.WriteAllBytes(path, RawSafeTensors.Build(Encoding.UTF8.GetBytes(Json), data));
        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        Assert.Equal([1f, -1f], reader.GetSpan<float>("weïght").ToArray());
        Assert.Equal("v", reader.Metadata["k"]);
    }

    [Fact]
    public void UnsupportedComputeDTypesOpenButRefuseConversion()
    {
        var writer = new SafeTensorsWriter();
        writer.Add("f64", SafeTensorDType.F64, [1], new byte[8]);
        writer.Add("fp8", SafeTensorDType.F8E4M3, [2], new byte[2]);
        writer.Add("flag", SafeTensorDType.Bool, [1], new byte[1]);
        string path = _dir.File("exotic.safetensors");
        writer.Save(path);

        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        Assert.Equal(SafeTensorDType.F8E4M3, reader.GetInfo("fp8").DType);
        Assert.Contains("\"F8_E4M3\"", Encoding.UTF8.GetString(File.ReadAllBytes(path)), StringComparison.Ordinal);
        var e = Assert.Throws<NotSupportedException>(() => reader.GetInfo("f64").DType.ToDType());
        Assert.Contains("unsupported dtype F64", e.Message, StringComparison.Ordinal);
        Assert.Throws<NotSupportedException>(() => SafeTensorDType.Bool.ToDType());
    }

    [Fact]
    public void ReadOnlyFileOpens()
    {
        var writer = new SafeTensorsWriter();
        writer.Add<float>("w", SafeTensorDType.F32, [2], [4f, 5f]);
        string path = _dir.File("ro.safetensors");
        writer.Save(path);
        if (OperatingSystem.IsWindows())
        {
            File.SetAttributes(path, FileAttributes.ReadOnly);
        }
        else
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        Assert.Equal([4f, 5f], reader.GetSpan<float>("w").ToArray());
    }

    [Fact]
    public unsafe void PointerAndPiecesAgreeWithSpan()
    {
        var writer = new SafeTensorsWriter();
        writer.Add<int>("a", SafeTensorDType.I32, [1], [1]);
        writer.Add<int>("b", SafeTensorDType.I32, [4], [10, 20, 30, 40]);
        string path = _dir.File("ptr.safetensors");
        writer.Save(path);

        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        TensorInfo b = reader.GetInfo("b");
        byte* p = reader.GetPointer(b);
        Assert.Equal(20, *(int*)(p + 4));
        Assert.Equal(30, BinaryPrimitives.ReadInt32LittleEndian(reader.GetBytes(b, 8, 4)));
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.GetBytes(b, 12, 8).Length);
    }

    [Fact]
    public void LookupErrorsNameTheFile()
    {
        var writer = new SafeTensorsWriter();
        writer.Add<float>("w", SafeTensorDType.F32, [1], [1f]);
        string path = _dir.File("lookup.safetensors");
        writer.Save(path);

        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        var missing = Assert.Throws<KeyNotFoundException>(() => reader.GetInfo("nope"));
        Assert.Contains(path, missing.Message, StringComparison.Ordinal);
        Assert.False(reader.TryGetInfo("nope", out _));
        Assert.Throws<ArgumentException>(() => reader.GetSpan<Half>("w").Length);
    }

    [Fact]
    public void DisposedReaderRefusesAccess()
    {
        var writer = new SafeTensorsWriter();
        writer.Add<float>("w", SafeTensorDType.F32, [1], [1f]);
        string path = _dir.File("disposed.safetensors");
        writer.Save(path);
        SafeTensorsReader reader = SafeTensorsReader.Open(path);
        reader.Dispose();
        reader.Dispose();
        Assert.Throws<ObjectDisposedException>(() => reader.GetBytes("w").Length);
    }

    [Fact]
    public void WriterRejectsBadInput()
    {
        var writer = new SafeTensorsWriter();
        writer.Add("w", SafeTensorDType.F32, [1], new byte[4]);
        Assert.Throws<ArgumentException>(() => writer.Add("w", SafeTensorDType.F32, [1], new byte[4]));
        Assert.Throws<ArgumentException>(() => writer.Add("__metadata__", SafeTensorDType.F32, [1], new byte[4]));
        Assert.Throws<ArgumentException>(() => writer.Add("x", SafeTensorDType.F32, [2], new byte[4]));
        Assert.Throws<ArgumentException>(() => writer.Add("y", SafeTensorDType.F32, [-1], []));
        Assert.Throws<ArgumentException>(() => writer.Add<int>("z", SafeTensorDType.F16, [1], [1]));
    }

    [Fact]
    public void StreamedTensorRoundTrips()
    {
        var writer = new SafeTensorsWriter();
        writer.AddStreamed("big", SafeTensorDType.U8, [1000], s =>
        {
            for (int i = 0; i < 10; i++)
            {
                s.Write(Enumerable.Repeat((byte)i, 100).ToArray());
            }
        });
        string path = _dir.File("stream.safetensors");
        writer.Save(path);
        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        ReadOnlySpan<byte> bytes = reader.GetBytes("big");
        Assert.Equal(0, bytes[99]);
        Assert.Equal(9, bytes[999]);
    }
}
