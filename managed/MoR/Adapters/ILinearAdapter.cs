using MoR.Modules;

namespace MoR.Adapters;

/// <summary>
/// An adapter attached to one frozen <see cref="Linear"/> (PEFT's tuner-layer idea): it never changes the base weight,
/// holds only its own parameters, and adds its contribution to the base output. Its method's math is in
/// docs/METHODS.md.
/// </summary>
/// <remarks>
/// Forward and backward are explicit (llm.c style). The adapter keeps what its backward needs from the last forward
/// (h, gates, …), so each forward must be followed by at most one backward with the same x and the same
/// <see cref="AdapterPass"/>. Every backward ACCUMULATES into the parameter gradients and into dx.
/// </remarks>
public interface ILinearAdapter : IDisposable
{
    /// <summary>The method and hyper-parameters it was built with.</summary>
    AdapterConfig Config { get; }

    /// <summary>d_in of the adapted layer.</summary>
    int InFeatures { get; }

    /// <summary>d_out of the adapted layer.</summary>
    int OutFeatures { get; }

    /// <summary>The trainable parameters, in a fixed order.</summary>
    IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>
    /// True when the adapter's backward also produces the frozen base's input gradient (DoRA rescales the whole
    /// output, so the base path is not the plain dy·W).
    /// </summary>
    bool ReplacesBaseBackward { get; }

    /// <summary>x [T, in]; on entry y [T, out] holds the base output W·x, on return the adapted output.</summary>
    void Forward(Linear baseLayer, Tensor x, Tensor y, AdapterPass pass);

    /// <summary>Accumulates parameter gradients and, when <paramref name="dx"/> is given, dx += the adapter's input gradient.</summary>
    void Backward(Linear baseLayer, Tensor x, Tensor dy, Tensor? dx, AdapterPass pass);

    /// <summary>Called after every optimizer step or parameter load: drops caches derived from parameters (MoR's Q).</summary>
    void OnParametersChanged();

    /// <summary>The adapter's tensors in its method's PEFT-style layout, keyed by suffix (e.g. <c>lora_A.weight</c>).</summary>
    IReadOnlyList<AdapterTensor> Export();

    /// <summary>Loads tensors produced by <see cref="Export"/> (or PEFT); throws naming the missing or mis-shaped tensor.</summary>
    void Import(IReadOnlyDictionary<string, AdapterTensor> tensors);

    /// <summary>
    /// Folds the adapter into <paramref name="weight"/> (row-major d_out × d_in, float64, in place): the exact merge
    /// of docs/METHODS.md. A routed adapter needs a fixed <paramref name="gate"/> (one value per expert); others take null.
    /// </summary>
    void MergeInto(Span<double> weight, IReadOnlyList<double>? gate);
}

/// <summary>One adapter tensor on the host, F32, row-major.</summary>
/// <param name="Suffix">The key suffix after the module path, e.g. <c>lora_B.weight</c>.</param>
/// <param name="Shape">Its dimensions.</param>
/// <param name="Data">Its values.</param>
public sealed record AdapterTensor(string Suffix, long[] Shape, float[] Data);
