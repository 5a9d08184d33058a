using MoR.Modules;

namespace MoR.Modules;

/// <summary>
/// HF <c>LlamaRMSNorm</c>: y = x / sqrt(mean(x²) + eps) ⊙ w. The weight is always F32 (it is tiny and
/// the kernels read it as F32); it is a <see cref="Parameter"/> only for full fine-tuning.
/// </summary>
internal sealed class RmsNorm : IDisposable
{
    public RmsNorm(string name, Tensor weight, float eps, bool trainable)
    {
        Name = name;
        Eps = eps;
        if (trainable)
        {
            Parameter = new Parameter(name, weight, weightDecay: false);
        }

        Weight = weight;
    }

    /// <summary>The HF tensor name, e.g. <c>model.layers.0.input_layernorm.weight</c>.</summary>
    public string Name { get; }

    public float Eps { get; }

    public Tensor Weight { get; }

    /// <summary>Null when frozen: backward then skips dw entirely.</summary>
    public Parameter? Parameter { get; }

    public int Width => (int)Weight.Shape[0];

    public void Forward(long t, Tensor x, Tensor y, Tensor rstd) => TransformerOps.RmsNormForward(t, Width, Eps, x, Weight, y, rstd);

    /// <summary>dx += ∂L/∂x (dx is the residual-stream gradient, so the skip path is already in it); dw += ∂L/∂w when trainable.</summary>
    public void Backward(long t, Tensor x, Tensor rstd, Tensor dy, Tensor dx) =>
        TransformerOps.RmsNormBackward(t, Width, x, Weight, rstd, dy, dx, Parameter?.Grad);

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
