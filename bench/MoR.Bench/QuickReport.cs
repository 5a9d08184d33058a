using MoR.Benchmarks;

namespace MoR.Bench;

/// <summary>Everything the quick mode measured: our reports and the TorchSharp peer's timings on the same shapes.</summary>
/// <param name="TorchSharp">TorchSharp's version and threads, or why it did not load.</param>
/// <param name="Gemm">Our GEMM report (null when not run).</param>
/// <param name="TorchGemm">TorchSharp's GEMM timings, same order as <paramref name="Gemm"/>'s results (empty without TorchSharp).</param>
/// <param name="Layer">Our layer report (null when not run).</param>
/// <param name="TorchLayer">TorchSharp's layer timings per formulation (empty without TorchSharp).</param>
internal sealed record QuickReport(
    string TorchSharp,
    GemmBenchmarkReport? Gemm,
    IReadOnlyList<GemmResult> TorchGemm,
    LayerBenchmarkReport? Layer,
    IReadOnlyList<TorchLayerResult> TorchLayer);

/// <summary>One TorchSharp layer formulation's fwd+bwd timing.</summary>
internal sealed record TorchLayerResult(TorchLayerMethod Method, TimingSummary Timing);
