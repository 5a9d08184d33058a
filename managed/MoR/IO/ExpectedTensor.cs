namespace MoR.IO;

/// <summary>A weight a model expects in its checkpoint: Hugging Face name and shape.</summary>
/// <param name="Name">E.g. <c>model.layers.0.self_attn.q_proj.weight</c>.</param>
/// <param name="Shape">E.g. <c>[num_heads × head_dim, hidden_size]</c>.</param>
public sealed record ExpectedTensor(string Name, IReadOnlyList<long> Shape)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Name} {TensorInfo.FormatShape(Shape)}";
}
