using MoR.Modules;

namespace MoR.Modules;

/// <summary>
/// <c>model.embed_tokens</c>: a [vocab, d] table, F32 or BF16 when frozen, an F32 <see cref="Parameter"/>
/// for full fine-tuning. With tied embeddings the LM head reads the same table and adds its gradient
/// into the same <see cref="Parameter.Grad"/>.
/// </summary>
internal sealed class TokenEmbedding : IDisposable
{
    public const string Name = "model.embed_tokens.weight";

    public TokenEmbedding(Tensor weight, bool trainable)
    {
        Weight = weight;
        // Decayed like every matrix (HF Trainer exempts only biases and norms).
        Parameter = trainable ? new Parameter(Name, weight, weightDecay: true) : null;
    }

    public Tensor Weight { get; }

    public Parameter? Parameter { get; }

    public int VocabSize => (int)Weight.Shape[0];

    public int Width => (int)Weight.Shape[1];

    public void Forward(long t, Tensor ids, Tensor output) => TransformerOps.EmbeddingForward(t, Width, VocabSize, ids, Weight, output);

    /// <summary>dW[ids[t]] += dout[t]; only called when trainable.</summary>
    public void Backward(long t, Tensor ids, Tensor dOutput) =>
        TransformerOps.EmbeddingBackward(t, Width, VocabSize, ids, dOutput, Parameter!.Grad);

    public void Dispose()
    {
        if (Parameter is not null)
        {
            Parameter.Dispose();
        }
        else
        {
            Weight.Dispose();
        }
    }
}
