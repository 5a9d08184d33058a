using MoR.IO;
using TorchSharp;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// Safetensors tensors (read with the project's own validating reader) copied into TorchSharp tensors, so
/// the peer sees byte-for-byte the weights <c>MoR.Model.LlamaModel</c> and <c>AdapterFolder</c> load.
/// </summary>
internal static class TorchCheckpoint
{
    /// <summary>A new tensor holding <paramref name="info"/>'s bytes, converted to <paramref name="target"/>
    /// (null: as stored, with F16 widened to F32 as our loader does).</summary>
    public static TTensor Read(SafeTensorsReader reader, TensorInfo info, ScalarType? target)
    {
        ScalarType stored = info.DType switch
        {
            SafeTensorDType.F32 => ScalarType.Float32,
            SafeTensorDType.BF16 => ScalarType.BFloat16,
            SafeTensorDType.F16 => ScalarType.Float16,
            _ => throw new NotSupportedException($"'{info.Name}' is {info.DType}; the peer reads F32, BF16 or F16 weights."),
        };
        TTensor raw = empty([.. info.Shape], stored);
        reader.GetBytes(info).CopyTo(raw.bytes);
        ScalarType wanted = target ?? (stored == ScalarType.Float16 ? ScalarType.Float32 : stored);
        if (wanted == stored)
        {
            return raw;
        }

        using (raw)
        {
            return raw.to_type(wanted);
        }
    }

    /// <summary>The named tensor of a (possibly sharded) checkpoint.</summary>
    public static TTensor Read(CheckpointReader checkpoint, string name, ScalarType? target) =>
        Read(checkpoint.GetFile(name), checkpoint.GetInfo(name), target);
}
