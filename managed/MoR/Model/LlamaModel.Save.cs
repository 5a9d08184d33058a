using MoR.Adapters;
using MoR.IO;
using MoR.Modules;

namespace MoR.Model;

public sealed partial class LlamaModel
{
    /// <summary>
    /// Writes the base model as a Hugging Face directory: <c>config.json</c> (with <c>torch_dtype</c>) and one
    /// <c>model.safetensors</c>, each written to a temporary file and renamed, so an interrupted save never
    /// leaves a half-written file. Adapters are not included (save them with <see cref="AdapterFolder"/>).
    /// </summary>
    /// <param name="directory">Created if missing.</param>
    /// <param name="dtype">F32, BF16 or F16 (every tensor, norms included, as transformers saves).</param>
    public void Save(string directory, DType dtype)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (dtype is not (DType.F32 or DType.BF16 or DType.F16))
        {
            throw new ArgumentException($"Models are saved as F32, BF16 or F16, not {dtype}.", nameof(dtype));
        }

        Directory.CreateDirectory(directory);
        Dictionary<string, Tensor> weights = WeightsByName();
        var writer = new SafeTensorsWriter();
        writer.SetMetadata("format", "pt"); // transformers refuses safetensors files without it
        foreach (ExpectedTensor expected in Config.ExpectedTensors())
        {
            Tensor weight = weights[expected.Name];
            long bytes = weight.Numel * dtype.ElementSize;
            writer.AddStreamed(expected.Name, dtype.ToSafeTensorDType(), [.. expected.Shape], stream =>
            {
                // Converted one tensor at a time, so saving never holds a second copy of the whole model.
                byte[] host = new byte[bytes];
                if (weight.DType == dtype)
                {
                    weight.CopyToBytes(host);
                }
                else
                {
                    using Tensor converted = weight.To(dtype);
                    converted.CopyToBytes(host);
                }

                stream.Write(host);
            });
        }

        writer.Save(Path.Combine(directory, CheckpointReader.SingleFileName));
        Config.WithTorchDType(dtype).Save(Path.Combine(directory, LlamaConfig.FileName));
    }

    private Dictionary<string, Tensor> WeightsByName()
    {
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [TokenEmbedding.Name] = _embedding.Weight };
        foreach (DecoderLayer layer in _layers)
        {
            weights[layer.InputNorm.Name] = layer.InputNorm.Weight;
            weights[layer.PostNorm.Name] = layer.PostNorm.Weight;
            foreach (AdaptedLinear p in layer.Projections)
            {
                weights[p.Name + ".weight"] = p.Base.Weight;
            }
        }

        weights[_finalNorm.Name] = _finalNorm.Weight;
        if (_lmHead is not null)
        {
            weights["lm_head.weight"] = _lmHead.Weight;
        }

        return weights;
    }
}
