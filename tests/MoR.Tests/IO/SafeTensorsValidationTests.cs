using MoR.IO;

namespace MoR.Tests.IO;

/// <summary>One hand-made bad file per rule of the format; each must fail with that rule, naming file and tensor.</summary>
public sealed class SafeTensorsValidationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void FileShorterThanEightBytes()
    {
        string path = _dir.File("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        AssertRule(path, SafeTensorsViolation.FileTooShort, null, "fewer than the 8-byte");
    }

    [Fact]
    public void EmptyFile()
    {
        string path = _dir.File("empty.safetensors");
        File.WriteAllBytes(path, []);
        AssertRule(path, SafeTensorsViolation.FileTooShort, null, "0 bytes");
    }

    [Fact]
    public void HeaderLengthOverLimit()
    {
        string path = _dir.File("huge.safetensors");
        File.WriteAllBytes(path, RawSafeTensors.Build("{}"u8.ToArray(), [], declaredLength: 100_000_001));
        AssertRule(path, SafeTensorsViolation.HeaderTooLarge, null, "100 MB");
    }

    [Fact]
    public void HeaderLengthPastEndOfFile()
    {
        string path = _dir.File("trunc.safetensors");
        File.WriteAllBytes(path, RawSafeTensors.Build("{}"u8.ToArray(), [], declaredLength: 64));
        AssertRule(path, SafeTensorsViolation.HeaderBeyondEndOfFile, null, "only 2 bytes follow");
    }

    [Fact]
    public void HeaderNotUtf8()
    {
        string path = _dir.File("utf8.safetensors");
        File.WriteAllBytes(path, RawSafeTensors.Build([(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}'], []));
        AssertRule(path, SafeTensorsViolation.InvalidUtf8, null, "UTF-8");
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]},}")]
    [InlineData("{} garbage")]
    [InlineData("{/* comment */}")]
    public void HeaderNotJson(string json)
    {
        string path = RawSafeTensors.Write(_dir, json, 0);
        AssertRule(path, SafeTensorsViolation.InvalidJson, null, "JSON");
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    public void HeaderNotObject(string json)
    {
        string path = RawSafeTensors.Write(_dir, json, 0);
        AssertRule(path, SafeTensorsViolation.HeaderNotObject, null, "not an object");
    }

    [Fact]
    public void DuplicateTensorName()
    {
        const string Json = """{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 8), SafeTensorsViolation.DuplicateKey, "w", "names 'w' twice");
    }

    [Fact]
    public void DuplicateKeyThroughEscapes()
    {
        // "\u0077" is "w": the same key once unescaped.
        const string Json = """{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "\u0077": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 8), SafeTensorsViolation.DuplicateKey, "w", "twice");
    }

    [Fact]
    public void DuplicateFieldInEntry()
    {
        const string Json = """{"w": {"dtype": "F32", "dtype": "F16", "shape": [1], "data_offsets": [0, 4]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 4), SafeTensorsViolation.DuplicateKey, "w", "'dtype' twice");
    }

    [Fact]
    public void DuplicateMetadataKey()
    {
        const string Json = """{"__metadata__": {"a": "1", "a": "2"}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 0), SafeTensorsViolation.DuplicateKey, null, "'a' twice");
    }

    [Fact]
    public void UnknownDType()
    {
        const string Json = """{"w": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 16), SafeTensorsViolation.UnknownDType, "w", "'F128'");
    }

    [Fact]
    public void LowercaseDTypeIsUnknown()
    {
        const string Json = """{"w": {"dtype": "f32", "shape": [1], "data_offsets": [0, 4]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 4), SafeTensorsViolation.UnknownDType, "w", "'f32'");
    }

    [Theory]
    [InlineData("""{"w": {"shape": [1], "data_offsets": [0, 4]}}""", "dtype")]
    [InlineData("""{"w": {"dtype": "F32", "data_offsets": [0, 4]}}""", "shape")]
    [InlineData("""{"w": {"dtype": "F32", "shape": [1]}}""", "data_offsets")]
    public void MissingField(string json, string field)
    {
        AssertRule(RawSafeTensors.Write(_dir, json, 4), SafeTensorsViolation.MissingField, "w", $"no '{field}'");
    }

    [Theory]
    [InlineData("""{"w": {"dtype": 3, "shape": [1], "data_offsets": [0, 4]}}""", "dtype is a number")]
    [InlineData("""{"w": {"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}}""", "shape is a string")]
    [InlineData("""{"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}""", "the number 1.5")]
    [InlineData("""{"w": {"dtype": "F32", "shape": [1], "data_offsets": {"begin": 0}}}""", "data_offsets is an object")]
    [InlineData("""{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}""", "not 2")]
    [InlineData("""{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}""", "not 2")]
    [InlineData("""{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, "4"]}}""", "a string")]
    [InlineData("""{"w": [1, 2]}""", "entry is an array")]
    [InlineData("""{"w": {"dtype": "F32", "shape": [99999999999999999999], "data_offsets": [0, 4]}}""", "not a 64-bit integer")]
    public void WrongFieldType(string json, string detail)
    {
        AssertRule(RawSafeTensors.Write(_dir, json, 4), SafeTensorsViolation.WrongFieldType, "w", detail);
    }

    [Fact]
    public void UnknownFieldInEntry()
    {
        const string Json = """{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "offsets": [0, 4]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 4), SafeTensorsViolation.UnknownField, "w", "'offsets'");
    }

    [Fact]
    public void NegativeDimension()
    {
        const string Json = """{"w": {"dtype": "F32", "shape": [2, -1], "data_offsets": [0, 4]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 4), SafeTensorsViolation.NegativeDimension, "w", "index 1");
    }

    [Fact]
    public void ElementCountOverflow()
    {
        const string Json = """{"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 4), SafeTensorsViolation.ElementCountOverflow, "w", "64-bit");
    }

    [Fact]
    public void ByteSizeOverflowFromDTypeSize()
    {
        // 2^62 elements fit in a long; 2^62 × 4 bytes do not.
        const string Json = """{"w": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 4]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 4), SafeTensorsViolation.ElementCountOverflow, "w", "64-bit");
    }

    [Fact]
    public void ByteLengthMismatch()
    {
        const string Json = """{"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 20), SafeTensorsViolation.ByteLengthMismatch, "w", "24 bytes");
    }

    [Fact]
    public void ByteLengthMismatchForHalfType()
    {
        const string Json = """{"w": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 16]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 16), SafeTensorsViolation.ByteLengthMismatch, "w", "8 bytes");
    }

    [Fact]
    public void BeginAfterEnd()
    {
        const string Json = """{"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 8), SafeTensorsViolation.InvalidOffsets, "w", "begin > end");
    }

    [Fact]
    public void NegativeOffset()
    {
        const string Json = """{"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 4), SafeTensorsViolation.InvalidOffsets, "w", "negative");
    }

    [Fact]
    public void OverlappingTensors()
    {
        const string Json = """{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 12), SafeTensorsViolation.OverlappingTensors, "b", "overlap tensor 'a'");
    }

    [Fact]
    public void SameRangeTwiceOverlaps()
    {
        const string Json = """{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}""";
        var e = Load(RawSafeTensors.Write(_dir, Json, 4));
        Assert.Equal(SafeTensorsViolation.OverlappingTensors, e.Violation);
    }

    [Fact]
    public void GapBetweenTensors()
    {
        const string Json = """{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 12), SafeTensorsViolation.GapBetweenTensors, "b", "gap of 4 bytes after tensor 'a'");
    }

    [Fact]
    public void FirstTensorNotAtStart()
    {
        const string Json = """{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 8), SafeTensorsViolation.GapBetweenTensors, "a", "start of the data section");
    }

    [Fact]
    public void TrailingBytesAfterData()
    {
        const string Json = """{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 6), SafeTensorsViolation.DataSizeMismatch, null, "2 more bytes");
    }

    [Fact]
    public void DataTruncated()
    {
        const string Json = """{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}""";
        AssertRule(RawSafeTensors.Write(_dir, Json, 10), SafeTensorsViolation.DataSizeMismatch, "a", "only 10");
    }

    [Fact]
    public void NoTensorsButData()
    {
        AssertRule(RawSafeTensors.Write(_dir, "{}", 3), SafeTensorsViolation.DataSizeMismatch, null, "3 more bytes");
    }

    [Theory]
    [InlineData("""{"__metadata__": ["a"]}""", "an array")]
    [InlineData("""{"__metadata__": "x"}""", "a string, not an object")]
    [InlineData("""{"__metadata__": {"a": 1}}""", "value of 'a' is a number")]
    [InlineData("""{"__metadata__": {"a": {"b": "c"}}}""", "value of 'a' is an object")]
    [InlineData("""{"__metadata__": {"a": null}}""", "value of 'a' is null")]
    public void MetadataNotStringMap(string json, string detail)
    {
        AssertRule(RawSafeTensors.Write(_dir, json, 0), SafeTensorsViolation.InvalidMetadata, null, detail);
    }

    [Fact]
    public void RuleIdsAreKebabCase()
    {
        Assert.Equal("invalid-utf8", SafeTensorsFormatException.ToRuleId(SafeTensorsViolation.InvalidUtf8));
        Assert.Equal("unknown-dtype", SafeTensorsFormatException.ToRuleId(SafeTensorsViolation.UnknownDType));
        Assert.Equal("tensor-in-multiple-shards", SafeTensorsFormatException.ToRuleId(SafeTensorsViolation.TensorInMultipleShards));
    }

    [Fact]
    public void FormatErrorsAreIOExceptions()
    {
        string path = _dir.File("short.safetensors");
        File.WriteAllBytes(path, [0]);
        Assert.ThrowsAny<IOException>(() => SafeTensorsReader.Open(path));
    }

    private static SafeTensorsFormatException Load(string path) =>
        Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsReader.Open(path).Dispose());

    private static void AssertRule(string path, SafeTensorsViolation rule, string? tensor, string detail)
    {
        SafeTensorsFormatException e = Load(path);
        Assert.Equal(rule, e.Violation);
        Assert.Equal(tensor, e.TensorName);
        Assert.Equal(path, e.FilePath);
        Assert.Contains($"[rule: {SafeTensorsFormatException.ToRuleId(rule)}]", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(detail, e.Message, StringComparison.Ordinal);
        if (tensor is not null)
        {
            Assert.Contains($"tensor '{tensor}'", e.Message, StringComparison.Ordinal);
        }
    }
}
