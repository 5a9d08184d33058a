namespace MoR.Adapters;

/// <summary>
/// What injection, adapter files and merging need from a model: its projections by Hugging Face module path, in model
/// order. The LLaMA model implements it; adapters never depend on a model type.
/// </summary>
public interface IAdaptableModel
{
    /// <summary>Every adaptable projection, keyed by module path (<c>model.layers.0.mlp.up_proj</c>), in model order.</summary>
    IReadOnlyDictionary<string, AdaptedLinear> Linears { get; }

    /// <summary>The projection names of one layer in order (<c>self_attn.q_proj</c> … <c>mlp.down_proj</c>): what seeds adapters and what error messages list.</summary>
    IReadOnlyList<string> ProjectionNames { get; }

    /// <summary>Where the model was loaded from (recorded as <c>base_model_name_or_path</c>), or null.</summary>
    string? SourcePath { get; }
}
