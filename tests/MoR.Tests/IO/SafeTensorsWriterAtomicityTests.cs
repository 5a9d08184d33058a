using MoR.IO;

namespace MoR.Tests.IO;

/// <summary>A failed save leaves the previous file as it was and no temporary file behind.</summary>
public sealed class SafeTensorsWriterAtomicityTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ThrowingCallbackLeavesOldFileIntact()
    {
        string path = _dir.File("model.safetensors");
        var good = new SafeTensorsWriter();
        good.Add<float>("w", SafeTensorDType.F32, [2], [1f, 2f]);
        good.Save(path);
        byte[] before = File.ReadAllBytes(path);

        var bad = new SafeTensorsWriter();
        bad.Add<float>("first", SafeTensorDType.F32, [1], [3f]);
        bad.AddStreamed("second", SafeTensorDType.F32, [1024], s =>
        {
            s.Write(new byte[1000]);
            throw new InvalidOperationException("disk full (simulated)");
        });
        var e = Assert.Throws<InvalidOperationException>(() => bad.Save(path));
        Assert.Equal("disk full (simulated)", e.Message);

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void ShortCallbackFailsWithoutCreatingTarget()
    {
        string path = _dir.File("new.safetensors");
        var writer = new SafeTensorsWriter();
        writer.AddStreamed("w", SafeTensorDType.F32, [4], s => s.Write(new byte[12]));
        var e = Assert.Throws<InvalidOperationException>(() => writer.Save(path));
        Assert.Contains("wrote 12 bytes, not 16", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void OverlongCallbackIsStoppedAtTheTensorBoundary()
    {
        string path = _dir.File("new.safetensors");
        var writer = new SafeTensorsWriter();
        writer.AddStreamed("w", SafeTensorDType.F32, [1], s => s.Write(new byte[8]));
        var e = Assert.Throws<InvalidOperationException>(() => writer.Save(path));
        Assert.Contains("more than its 4 bytes", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void SuccessfulSaveReplacesAndLeavesNoTemporary()
    {
        string path = _dir.File("model.safetensors");
        for (int round = 1; round <= 3; round++)
        {
            var writer = new SafeTensorsWriter();
            writer.Add<int>("round", SafeTensorDType.I32, [1], [round]);
            writer.Save(path);
        }

        Assert.Equal([path], Directory.GetFiles(_dir.Path));
        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        Assert.Equal([3], reader.GetSpan<int>("round").ToArray());
    }

    [Fact]
    public void SaveWhileOldFileIsMappedKeepsTheMappingValid()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Windows refuses to rename over a mapped file; POSIX keeps the old inode alive.
        }

        string path = _dir.File("model.safetensors");
        var first = new SafeTensorsWriter();
        first.Add<float>("w", SafeTensorDType.F32, [1], [1f]);
        first.Save(path);
        using SafeTensorsReader old = SafeTensorsReader.Open(path);

        var second = new SafeTensorsWriter();
        second.Add<float>("w", SafeTensorDType.F32, [1], [2f]);
        second.Save(path);

        Assert.Equal([1f], old.GetSpan<float>("w").ToArray());
        using SafeTensorsReader fresh = SafeTensorsReader.Open(path);
        Assert.Equal([2f], fresh.GetSpan<float>("w").ToArray());
    }
}
