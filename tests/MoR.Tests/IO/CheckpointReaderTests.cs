using MoR.IO;

namespace MoR.Tests.IO;

/// <summary>Single-file and sharded checkpoints behind one lookup, and the index's consistency rules.</summary>
public sealed class CheckpointReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void OpensSingleFileFromDirectory()
    {
        WriteShard("model.safetensors", ("a", 1f), ("b", 2f));
        using CheckpointReader checkpoint = CheckpointReader.Open(_dir.Path);
        Assert.Null(checkpoint.Index);
        Assert.Equal(["a", "b"], checkpoint.TensorNames);
        Assert.Equal([2f], checkpoint.GetSpan<float>("b").ToArray());
    }

    [Fact]
    public void OpensShardedCheckpointWithUnifiedLookup()
    {
        WriteShard("model-00001-of-00002.safetensors", ("model.embed_tokens.weight", 1f), ("model.norm.weight", 2f));
        WriteShard("model-00002-of-00002.safetensors", ("lm_head.weight", 3f));
        WriteIndex("""
            {"metadata": {"total_size": 12, "format": "pt"},
             "weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                            "model.norm.weight": "model-00001-of-00002.safetensors",
                            "lm_head.weight": "model-00002-of-00002.safetensors"}}
            """);

        using CheckpointReader checkpoint = CheckpointReader.Open(_dir.Path);
        Assert.NotNull(checkpoint.Index);
        Assert.Equal(2, checkpoint.Files.Count);
        Assert.Equal(3, checkpoint.Count);
        Assert.Equal("12", checkpoint.Metadata["total_size"]);
        Assert.Equal("pt", checkpoint.Metadata["format"]);
        Assert.Equal([3f], checkpoint.GetSpan<float>("lm_head.weight").ToArray());
        Assert.Equal([2f], checkpoint.GetSpan<float>("model.norm.weight").ToArray());
        Assert.EndsWith("model-00002-of-00002.safetensors", checkpoint.GetFile("lm_head.weight").FilePath, StringComparison.Ordinal);
        var missing = Assert.Throws<KeyNotFoundException>(() => checkpoint.GetInfo("nope"));
        Assert.Contains("nope", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SingleFileWinsOverIndexAsInTransformers()
    {
        WriteShard("model.safetensors", ("single", 1f));
        WriteIndex("""{"weight_map": {"x": "missing.safetensors"}}""");
        using CheckpointReader checkpoint = CheckpointReader.Open(_dir.Path);
        Assert.True(checkpoint.Contains("single"));
    }

    [Fact]
    public void OpensIndexFileDirectly()
    {
        WriteShard("s1.safetensors", ("a", 1f));
        string index = WriteIndex("""{"weight_map": {"a": "s1.safetensors"}}""");
        using CheckpointReader checkpoint = CheckpointReader.Open(index);
        Assert.Equal([1f], checkpoint.GetSpan<float>("a").ToArray());
    }

    [Fact]
    public void MissingShardFile()
    {
        WriteShard("s1.safetensors", ("a", 1f));
        WriteIndex("""{"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}""");
        AssertRule(SafeTensorsViolation.ShardMissing, "b", "'s2.safetensors', which does not exist");
    }

    [Fact]
    public void TensorListedButAbsentFromShard()
    {
        WriteShard("s1.safetensors", ("a", 1f));
        WriteIndex("""{"weight_map": {"a": "s1.safetensors", "ghost": "s1.safetensors"}}""");
        AssertRule(SafeTensorsViolation.TensorMissingFromShard, "ghost", "does not contain it");
    }

    [Fact]
    public void TensorPresentInTwoShards()
    {
        WriteShard("s1.safetensors", ("a", 1f), ("dup", 2f));
        WriteShard("s2.safetensors", ("dup", 3f));
        WriteIndex("""{"weight_map": {"a": "s1.safetensors", "dup": "s2.safetensors"}}""");
        AssertRule(SafeTensorsViolation.TensorInMultipleShards, "dup", "present in both 's1.safetensors' and 's2.safetensors'");
    }

    [Fact]
    public void ShardHoldsTensorTheIndexDoesNotList()
    {
        WriteShard("s1.safetensors", ("a", 1f), ("extra", 2f));
        WriteIndex("""{"weight_map": {"a": "s1.safetensors"}}""");
        AssertRule(SafeTensorsViolation.TensorNotInIndex, "extra", "does not list it");
    }

    [Fact]
    public void IndexWithoutWeightMap()
    {
        WriteIndex("""{"metadata": {}}""");
        AssertRule(SafeTensorsViolation.InvalidIndex, null, "no 'weight_map'");
    }

    [Fact]
    public void IndexWithDuplicateKey()
    {
        WriteShard("s1.safetensors", ("a", 1f));
        WriteIndex("""{"weight_map": {"a": "s1.safetensors", "a": "s1.safetensors"}}""");
        AssertRule(SafeTensorsViolation.DuplicateKey, null, "'weight_map.a' twice");
    }

    [Fact]
    public void IndexNotJson()
    {
        WriteIndex("{ weight_map");
        AssertRule(SafeTensorsViolation.InvalidJson, null, "not valid JSON");
    }

    [Theory]
    [InlineData("../outside.safetensors")]
    [InlineData("/etc/passwd")]
    [InlineData("")]
    public void ShardPathOutsideDirectoryIsRefused(string shard)
    {
        WriteIndex($$$"""{"weight_map": {"a": "{{{shard}}}"}}""");
        AssertRule(SafeTensorsViolation.InvalidIndex, "a", "not a plain file name");
    }

    [Fact]
    public void BadShardFileReportsItsOwnRule()
    {
        File.WriteAllBytes(_dir.File("s1.safetensors"), [1, 2]);
        WriteIndex("""{"weight_map": {"a": "s1.safetensors"}}""");
        var e = Assert.Throws<SafeTensorsFormatException>(() => CheckpointReader.Open(_dir.Path).Dispose());
        Assert.Equal(SafeTensorsViolation.FileTooShort, e.Violation);
        Assert.EndsWith("s1.safetensors", e.FilePath, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyDirectory()
    {
        var e = Assert.Throws<FileNotFoundException>(() => CheckpointReader.Open(_dir.Path));
        Assert.Contains(ShardedCheckpointIndex.FileName, e.Message, StringComparison.Ordinal);
    }

    private void WriteShard(string name, params (string Name, float Value)[] tensors)
    {
        var writer = new SafeTensorsWriter();
        foreach ((string tensor, float value) in tensors)
        {
            writer.Add<float>(tensor, SafeTensorDType.F32, [1], [value]);
        }

        writer.Save(_dir.File(name));
    }

    private string WriteIndex(string json)
    {
        string path = _dir.File(ShardedCheckpointIndex.FileName);
        File.WriteAllText(path, json);
        return path;
    }

    private void AssertRule(SafeTensorsViolation rule, string? tensor, string detail)
    {
        var e = Assert.Throws<SafeTensorsFormatException>(() => CheckpointReader.Open(_dir.Path).Dispose());
        Assert.Equal(rule, e.Violation);
        Assert.Equal(tensor, e.TensorName);
        Assert.Contains(ShardedCheckpointIndex.FileName, e.Message, StringComparison.Ordinal);
        Assert.Contains($"[rule: {e.RuleId}]", e.Message, StringComparison.Ordinal);
        Assert.Contains(detail, e.Message, StringComparison.Ordinal);
    }
}
