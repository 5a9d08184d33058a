using MoR.Adapters;
using MoR.Benchmarks;

namespace MoR.Tests.Benchmarks;

/// <summary>
/// The FLOP formulas (each method's <see cref="MoR.Adapters.AdapterMethod.Footprint"/>) against the numbers MOR.md §2 quotes for a LLaMA-7B up-projection (4096 → 11008,
/// N = 8, r = 32): MoR's fwd+bwd floor ≈ 9.9 %, MoR's forward ≈ 6.6 %, MoE-LoRA's ≈ 8.7 % (8.65 exactly).
/// </summary>
public sealed class LayerFlopsTests
{
    private static readonly LayerFlops Llama = new(DIn: 4096, DOut: 11008);

    private static AdapterConfig? Paper(string method, int n = 8, int r = 32) =>
        new LayerBenchmarkOptions(N: n, R: r).ConfigFor(method);

    [Fact]
    public void MoRTrainingStepFloorIsAboutTenPercent() =>
        Assert.Equal(9.920, Llama.TrainingStepFloorPercent(Paper("mor")), tolerance: 0.001);

    [Fact]
    public void MoRForwardAddsAboutSixPointSixPercent() =>
        Assert.Equal(6.613, Llama.ForwardOverheadPercent(Paper("mor")), tolerance: 0.001);

    [Fact]
    public void MoELoRAForwardAddsAboutEightPointSevenPercent() =>
        Assert.Equal(8.648, Llama.ForwardOverheadPercent(Paper("moe-lora")), tolerance: 0.001);

    [Fact]
    public void MoRIsCheaperThanMoELoRAWithTheSameExpertsAndRank()
    {
        Assert.True(Llama.AdapterForward(Paper("mor")) < Llama.AdapterForward(Paper("moe-lora")));
        Assert.True(Llama.AdapterForward(Paper("lora")) < Llama.AdapterForward(Paper("mor")));
    }

    [Fact]
    public void CountsAreTheHandWrittenGemmSizes()
    {
        var f = new LayerFlops(DIn: 10, DOut: 20);
        AdapterConfig? Small(string method) => Paper(method, n: 3, r: 2);
        Assert.Equal(2.0 * 10 * 20, f.BaseForward);
        Assert.Equal(0, f.AdapterForward(Small("base")));
        Assert.Equal(2.0 * 2 * (10 + 20), f.AdapterForward(Small("lora")));
        // MoE-LoRA: N experts' A and B, plus the router.
        Assert.Equal((2.0 * 3 * 2 * 30) + (2.0 * 3 * 10), f.AdapterForward(Small("moe-lora")));
        // MoR: one GEMM x·[A ; W_g]ᵀ of r + N columns, one P·Qᵀ with K = N·r.
        Assert.Equal((2.0 * (2 + 3) * 10) + (2.0 * 3 * 2 * 20), f.AdapterForward(Small("mor")));
        // Frozen base: forward and dx; adapter: forward, parameter gradients and its dx path.
        Assert.Equal((2 * f.BaseForward) + (3 * f.AdapterForward(Small("mor"))), f.TrainingStep(Small("mor")));
        Assert.Equal(0, f.TrainingStepFloorPercent(Small("base")));
    }

    [Fact]
    public void OptionsDefaultToThePaperSetting()
    {
        var options = new LayerBenchmarkOptions();
        Assert.Equal(Llama, options.Flops);
        Assert.Equal(512, options.T);
        Assert.Equal(DType.F32, options.BaseDType);
    }
}
