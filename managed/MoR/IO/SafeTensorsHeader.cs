using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace MoR.IO;

/// <summary>
/// Parses and validates the JSON header of a safetensors file. Reads with <see cref="Utf8JsonReader"/>
/// rather than a DOM or a serializer because both of those silently keep the last of duplicate keys,
/// which the format forbids.
/// </summary>
internal sealed class SafeTensorsHeader
{
    /// <summary>The format's limit on the header length (the reference implementation's 100 MB).</summary>
    public const long MaxHeaderLength = 100_000_000;

    private const string MetadataKey = "__metadata__";

    private readonly string _path;

    private SafeTensorsHeader(string path, List<TensorInfo> tensors, Dictionary<string, string> metadata)
    {
        _path = path;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Tensors sorted by their position in the data section.</summary>
    public List<TensorInfo> Tensors { get; }

    public Dictionary<string, string> Metadata { get; }

    /// <summary>Parses <paramref name="json"/> and checks every per-entry rule and the layout rules.</summary>
    /// <param name="path">The file, for messages.</param>
    /// <param name="json">The header bytes (after the 8-byte length).</param>
    /// <param name="dataLength">Bytes in the file after the header: the data section must fill them exactly.</param>
    public static SafeTensorsHeader Parse(string path, ReadOnlySpan<byte> json, long dataLength)
    {
        if (!Utf8.IsValid(json))
        {
            throw new SafeTensorsFormatException(path, null, SafeTensorsViolation.InvalidUtf8, "the header is not valid UTF-8");
        }

        var tensors = new List<TensorInfo>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var header = new SafeTensorsHeader(path, tensors, metadata);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions
        {
            AllowTrailingCommas = false,
            CommentHandling = JsonCommentHandling.Disallow,
            MaxDepth = 16,
        });

        try
        {
            header.ReadTopLevel(ref reader);
        }
        catch (JsonException e)
        {
            throw new SafeTensorsFormatException(
                path, null, SafeTensorsViolation.InvalidJson, $"the header is not valid JSON ({e.Message})", e);
        }
        catch (InvalidOperationException e)
        {
            // Valid UTF-8 can still escape an unpaired surrogate ("\ud800"), which no string can hold.
            throw new SafeTensorsFormatException(
                path, null, SafeTensorsViolation.InvalidUtf8, $"the header has a string that is not valid text at byte {reader.TokenStartIndex} ({e.Message})", e);
        }

        header.CheckLayout(dataLength);
        return header;
    }

    private void ReadTopLevel(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new SafeTensorsFormatException(_path, null, SafeTensorsViolation.InvalidJson, "the header is empty, not a JSON object");
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new SafeTensorsFormatException(
                _path, null, SafeTensorsViolation.HeaderNotObject, $"the header's top-level JSON value is {Describe(reader.TokenType)}, not an object");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            if (!seen.Add(key))
            {
                throw new SafeTensorsFormatException(
                    _path, key == MetadataKey ? null : key, SafeTensorsViolation.DuplicateKey, $"the header names '{key}' twice");
            }

            Next(ref reader);
            if (key == MetadataKey)
            {
                ReadMetadata(ref reader);
            }
            else
            {
                Tensors.Add(ReadEntry(ref reader, key));
            }
        }

        // Anything after the closing brace other than whitespace (the writers' padding) makes Read throw.
        if (reader.Read())
        {
            throw new SafeTensorsFormatException(_path, null, SafeTensorsViolation.InvalidJson, "the header has content after its closing brace");
        }
    }

    private void ReadMetadata(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new SafeTensorsFormatException(
                _path, null, SafeTensorsViolation.InvalidMetadata, $"__metadata__ is {Describe(reader.TokenType)}, not an object of strings");
        }

        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            if (Metadata.ContainsKey(key))
            {
                throw new SafeTensorsFormatException(
                    _path, null, SafeTensorsViolation.DuplicateKey, $"__metadata__ names '{key}' twice");
            }

            if (Next(ref reader) != JsonTokenType.String)
            {
                throw new SafeTensorsFormatException(
                    _path, null, SafeTensorsViolation.InvalidMetadata, $"__metadata__ value of '{key}' is {Describe(reader.TokenType)}, not a string");
            }

            Metadata[key] = reader.GetString()!;
        }
    }

    private TensorInfo ReadEntry(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Fail(name, SafeTensorsViolation.WrongFieldType, $"the entry is {Describe(reader.TokenType)}, not an object");
        }

        string? dtypeName = null;
        List<long>? shape = null;
        List<long>? offsets = null;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            string field = reader.GetString()!;
            Next(ref reader);
            switch (field)
            {
                case "dtype":
                    ThrowIfSeen(dtypeName is not null, name, field);
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw Fail(name, SafeTensorsViolation.WrongFieldType, $"dtype is {Describe(reader.TokenType)}, not a string");
                    }

                    dtypeName = reader.GetString()!;
                    break;
                case "shape":
                    ThrowIfSeen(shape is not null, name, field);
                    shape = ReadIntegerArray(ref reader, name, field);
                    break;
                case "data_offsets":
                    ThrowIfSeen(offsets is not null, name, field);
                    offsets = ReadIntegerArray(ref reader, name, field);
                    break;
                default:
                    throw Fail(name, SafeTensorsViolation.UnknownField, $"the entry has a field '{field}'; only dtype, shape and data_offsets are defined");
            }
        }

        if (dtypeName is null || shape is null || offsets is null)
        {
            string missing = dtypeName is null ? "dtype" : shape is null ? "shape" : "data_offsets";
            throw Fail(name, SafeTensorsViolation.MissingField, $"the entry has no '{missing}' field");
        }

        return Validate(name, dtypeName, shape, offsets);
    }

    private TensorInfo Validate(string name, string dtypeName, List<long> shape, List<long> offsets)
    {
        if (!SafeTensorDTypeExtensions.TryParse(dtypeName, out SafeTensorDType dtype))
        {
            throw Fail(name, SafeTensorsViolation.UnknownDType, $"dtype '{dtypeName}' is not a safetensors dtype (known: {SafeTensorDTypeExtensions.KnownNames})");
        }

        if (offsets.Count != 2)
        {
            throw Fail(name, SafeTensorsViolation.WrongFieldType, $"data_offsets has {offsets.Count} integers, not 2 (begin, end)");
        }

        for (int i = 0; i < shape.Count; i++)
        {
            if (shape[i] < 0)
            {
                throw Fail(name, SafeTensorsViolation.NegativeDimension, $"shape {TensorInfo.FormatShape(shape)} has a negative dimension at index {i}");
            }
        }

        long begin = offsets[0];
        long end = offsets[1];
        if (begin < 0 || end < 0)
        {
            throw Fail(name, SafeTensorsViolation.InvalidOffsets, $"data_offsets [{begin}, {end}] has a negative offset");
        }

        if (begin > end)
        {
            throw Fail(name, SafeTensorsViolation.InvalidOffsets, $"data_offsets [{begin}, {end}] has begin > end");
        }

        long bytes;
        try
        {
            long count = 1;
            foreach (long d in shape)
            {
                count = checked(count * d);
            }

            bytes = checked(count * dtype.ElementSize());
        }
        catch (OverflowException)
        {
            throw Fail(name, SafeTensorsViolation.ElementCountOverflow, $"shape {TensorInfo.FormatShape(shape)} of {dtypeName} has more bytes than a 64-bit integer can count");
        }

        if (bytes != end - begin)
        {
            throw Fail(
                name,
                SafeTensorsViolation.ByteLengthMismatch,
                $"dtype {dtypeName} × shape {TensorInfo.FormatShape(shape)} is {bytes} bytes, but data_offsets [{begin}, {end}] span {end - begin}");
        }

        return new TensorInfo(name, dtype, shape.ToArray(), begin, end);
    }

    private void CheckLayout(long dataLength)
    {
        // Sorting by (begin, end) puts empty tensors before a non-empty one at the same offset, so
        // contiguity can be checked pairwise: each range starts where the previous one ended.
        Tensors.Sort(static (a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expected = 0;
        TensorInfo? previous = null;
        foreach (TensorInfo t in Tensors)
        {
            if (t.Begin < expected)
            {
                throw Fail(t.Name, SafeTensorsViolation.OverlappingTensors, $"data_offsets [{t.Begin}, {t.End}] overlap tensor '{previous!.Name}' [{previous.Begin}, {previous.End}]");
            }

            if (t.Begin > expected)
            {
                string after = previous is null ? "the start of the data section" : $"tensor '{previous.Name}' (which ends at {expected})";
                throw Fail(t.Name, SafeTensorsViolation.GapBetweenTensors, $"data_offsets [{t.Begin}, {t.End}] leave a gap of {t.Begin - expected} bytes after {after}");
            }

            expected = t.End;
            previous = t;
        }

        if (expected != dataLength)
        {
            string detail = expected > dataLength
                ? $"the tensors need {expected} data bytes but the file has only {dataLength} after the header (truncated file?)"
                : $"the tensors end at data offset {expected} but the file has {dataLength - expected} more bytes after them";
            throw new SafeTensorsFormatException(_path, expected > dataLength ? previous?.Name : null, SafeTensorsViolation.DataSizeMismatch, detail);
        }
    }

    private List<long> ReadIntegerArray(ref Utf8JsonReader reader, string name, string field)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Fail(name, SafeTensorsViolation.WrongFieldType, $"{field} is {Describe(reader.TokenType)}, not an array of integers");
        }

        var values = new List<long>();
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long v))
            {
                string what = reader.TokenType == JsonTokenType.Number
                    ? $"the number {Encoding.UTF8.GetString(reader.ValueSpan)}, not a 64-bit integer"
                    : Describe(reader.TokenType);
                throw Fail(name, SafeTensorsViolation.WrongFieldType, $"{field} holds {what}");
            }

            values.Add(v);
        }

        return values;
    }

    private void ThrowIfSeen(bool seen, string name, string field)
    {
        if (seen)
        {
            throw Fail(name, SafeTensorsViolation.DuplicateKey, $"the entry names '{field}' twice");
        }
    }

    private SafeTensorsFormatException Fail(string name, SafeTensorsViolation violation, string detail) =>
        new(_path, name, violation, detail);

    private static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("unexpected end of the header");
        }

        return reader.TokenType;
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };
}
