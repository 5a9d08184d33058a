namespace MoR.IO;

/// <summary>
/// The rule a safetensors file (or a sharded checkpoint index) broke. Each value's kebab-case form
/// (see <see cref="SafeTensorsFormatException.RuleId"/>) appears in the exception message.
/// </summary>
public enum SafeTensorsViolation
{
    /// <summary>The file is shorter than the 8-byte header length prefix.</summary>
    FileTooShort,

    /// <summary>The header length prefix exceeds the 100 MB limit.</summary>
    HeaderTooLarge,

    /// <summary>The header length prefix points past the end of the file.</summary>
    HeaderBeyondEndOfFile,

    /// <summary>The header bytes are not valid UTF-8, or a string escapes an unpaired surrogate (<c>"\ud800"</c>).</summary>
    InvalidUtf8,

    /// <summary>The header is not valid JSON.</summary>
    InvalidJson,

    /// <summary>The header's top-level JSON value is not an object.</summary>
    HeaderNotObject,

    /// <summary>A JSON object in the header (or index) names the same key twice.</summary>
    DuplicateKey,

    /// <summary>A tensor's dtype is not one of the names the format defines.</summary>
    UnknownDType,

    /// <summary>A tensor entry lacks <c>dtype</c>, <c>shape</c> or <c>data_offsets</c>.</summary>
    MissingField,

    /// <summary>A field has the wrong JSON type (e.g. a string where an integer array belongs).</summary>
    WrongFieldType,

    /// <summary>A tensor entry has a field the format does not define.</summary>
    UnknownField,

    /// <summary>A shape has a negative dimension.</summary>
    NegativeDimension,

    /// <summary>A shape's element count (or its byte size) does not fit in a signed 64-bit integer.</summary>
    ElementCountOverflow,

    /// <summary>dtype size × element count differs from <c>end − begin</c>.</summary>
    ByteLengthMismatch,

    /// <summary><c>data_offsets</c> has begin &gt; end.</summary>
    InvalidOffsets,

    /// <summary>Two tensors' byte ranges overlap.</summary>
    OverlappingTensors,

    /// <summary>The tensors leave unused bytes between them or before the first one.</summary>
    GapBetweenTensors,

    /// <summary>The data section does not end exactly at the end of the file.</summary>
    DataSizeMismatch,

    /// <summary><c>__metadata__</c> is not an object of string values.</summary>
    InvalidMetadata,

    /// <summary>A sharded index is malformed (not an object, no <c>weight_map</c>, bad shard name...).</summary>
    InvalidIndex,

    /// <summary>A shard file named by the index does not exist.</summary>
    ShardMissing,

    /// <summary>A tensor the index lists is not in the shard the index names.</summary>
    TensorMissingFromShard,

    /// <summary>A shard holds a tensor that the index does not list for it.</summary>
    TensorNotInIndex,

    /// <summary>The same tensor name is present in two shards.</summary>
    TensorInMultipleShards,
}
