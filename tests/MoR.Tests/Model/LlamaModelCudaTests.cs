using MoR.Data;
using MoR.Adapters;
using MoR.Model;
using MoR.Tests.Adapters;
using MoR.Modules;
using MoR.Tests.Infrastructure;
using MoR.Training;
using Xunit.Abstractions;

namespace MoR.Tests.Model;

/// <summary>
/// The whole model on CUDA against the same model on the CPU, in F32: logits, the loss and every trainable gradient,
/// three AdamW steps, and KV-cache decoding, for every method (LoRA, DoRA, MoE-LoRA, MoR on all seven projections,
/// and full fine-tuning). Both sides start from the same checkpoint and the same adapter values; the CPU side is the
/// reference (its ops are checked against float64 in the native suite and LlamaModelGradientTests).
/// </summary>
/// <remarks>
/// Tolerances, as norm-relative errors ‖cuda − cpu‖∞ / ‖cpu‖∞ per tensor. Both sides compute in F32 with different
/// summation orders (cuBLAS vs OpenBLAS, warp vs loop reductions; TF32 off), so each differs from the exact result by
/// F32 roundings and from each other by at most about twice that. Measured on this model, the CPU's F32 against the
/// float64 ReferenceLlama: 1.6e-6 in the logits (MoR adapters; 3e-7 DoRA), and at most 4e-6 relative in the sampled
/// gradients (LlamaModelGradientTests); the native CUDA-vs-CPU tests bound single ops at 1e-5 (1e-4 for attention
/// gradients). Hence 1e-4 for logits and decoding (30x the expected difference), 5e-5 for the summed loss, 1e-3 for
/// gradients (where an attention gradient's larger error passes through both layers): all far below what a wrong
/// index, a missing term or a stale cache gives (1e-2 and up).
/// <para>
/// The AdamW steps use ε = 1: with a tiny ε Adam's first update is lr·sign(g), which turns a rounding difference in a
/// gradient near zero into an update difference of up to 2·lr (DistributedFinetuneTests measures that for routers), so
/// trajectories could only be compared to lr. With ε = 1 the update is smooth in g (every other term of the step is the
/// same kernel; the native AdamW tests check the formula with the usual ε), and parameters must agree as closely as
/// gradients: their change from the start is compared, 1e-3.
/// </para>
/// </remarks>
public sealed class LlamaModelCudaTests(ITestOutputHelper output)
{
    private const int Batch = 2, Seq = 9;
    private const double LogitsTolerance = 1e-4, LossTolerance = 5e-5, GradientTolerance = 1e-3, StepTolerance = 1e-3;

    /// <summary>The device compared with the CPU. (To check the test's plumbing without a GPU, point it at Device.Cpu.)</summary>
    private static Device UnderTest() => Device.Cuda();

    [GpuTheory]
    [MemberData(nameof(TestAdapters.MethodsAndFull), MemberType = typeof(TestAdapters))]
    public void ForwardBackwardThreeAdamWStepsAndDecodingMatchTheCpuInF32(string method)
    {
        Device device = UnderTest();
        Assert.False(device.AllowTf32, "TF32 products would not meet F32 tolerances");
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig(kvHeads: 2));
        bool full = method == AdapterMethods.FullFineTuning;
        using LlamaModel cpu = LlamaModel.Load(ckpt.Directory, Device.Cpu, new ModelLoadOptions { Trainable = full });
        using LlamaModel dut = LlamaModel.Load(ckpt.Directory, device, new ModelLoadOptions { Trainable = full });
        if (!full)
        {
            AttachTheSameAdapters(cpu, dut, method);
        }

        int[] ids = ModelTestData.Ids(Batch * Seq, ckpt.Config.VocabSize, 31);
        int[] targets = ModelTestData.Targets(Batch * Seq, ckpt.Config.VocabSize, 32);
        var batch = new TokenBatch(Batch, Seq, ids, targets);

        Compare("logits", cpu.ComputeLogits(Batch, Seq, ids), dut.ComputeLogits(Batch, Seq, ids), LogitsTolerance);

        IReadOnlyList<KeyValuePair<string, Parameter>> cpuParams = cpu.NamedTrainableParameters(), dutParams = dut.NamedTrainableParameters();
        Assert.Equal(cpuParams.Select(p => p.Key), dutParams.Select(p => p.Key));
        float[][] start = [.. cpuParams.Select(p => p.Value.Value.ToArray<float>())];
        using var cpuAdam = new AdamW([.. cpuParams.Select(p => p.Value)], epsilon: 1f, weightDecay: 0.1f);
        using var dutAdam = new AdamW([.. dutParams.Select(p => p.Value)], epsilon: 1f, weightDecay: 0.1f);
        for (int step = 1; step <= 3; step++)
        {
            LossResult cpuLoss = cpu.ForwardBackward(batch, 0.5f);
            LossResult dutLoss = dut.ForwardBackward(batch, 0.5f);
            Assert.Equal(cpuLoss.Tokens, dutLoss.Tokens);
            Assert.True(
                Math.Abs(cpuLoss.LossSum - dutLoss.LossSum) <= LossTolerance * Math.Abs(cpuLoss.LossSum),
                $"step {step}: loss {dutLoss.LossSum} vs {cpuLoss.LossSum} on the CPU");
            for (int i = 0; i < cpuParams.Count; i++)
            {
                Compare($"step {step}: gradient of {cpuParams[i].Key}", cpuParams[i].Value.Grad.ToArray<float>(), dutParams[i].Value.Grad.ToArray<float>(), GradientTolerance);
            }

            cpuAdam.Step(learningRate: 0.05f);
            dutAdam.Step(learningRate: 0.05f);
            for (int i = 0; i < cpuParams.Count; i++)
            {
                cpuParams[i].Value.ZeroGrad();
                dutParams[i].Value.ZeroGrad();
                CompareChange($"step {step}: {cpuParams[i].Key}", start[i], cpuParams[i].Value.Value.ToArray<float>(), dutParams[i].Value.Value.ToArray<float>());
            }

            cpu.NotifyParametersChanged();
            dut.NotifyParametersChanged();
        }

        // The trained models, decoding with a KV cache: a 5-token prompt, then one token at a time (the CPU's argmax fed to
        // both, so the sequences stay the same whatever a near-tie does).
        Compare("logits after 3 steps", cpu.ComputeLogits(Batch, Seq, ids), dut.ComputeLogits(Batch, Seq, ids), LogitsTolerance);
        using KvCache cpuCache = cpu.NewCache(16);
        using KvCache dutCache = dut.NewCache(16);
        int[] prompt = ids[..5];
        float[] want = cpu.Decode(cpuCache, prompt);
        Compare("decoded prompt", want, dut.Decode(dutCache, prompt), LogitsTolerance);
        for (int t = 0; t < 8; t++)
        {
            int next = ArgMax(want);
            want = cpu.Decode(cpuCache, [next]);
            Compare($"decoded token {t + 1}", want, dut.Decode(dutCache, [next]), LogitsTolerance);
        }
    }

    // The same adapters on both sides: attached with the same spec, randomised on the CPU (B ≠ 0, so every adapter
    // tensor has a gradient), and the CPU's values imported on the other side.
    private static void AttachTheSameAdapters(LlamaModel cpu, LlamaModel dut, string method)
    {
        AdapterConfig config = TestAdapters.Config(method, rank: 4, alpha: 8, experts: 3, targets: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]);
        IReadOnlyList<string> paths = AdapterInjector.Attach(cpu, config, seed: 5);
        Assert.Equal(paths, AdapterInjector.Attach(dut, config, seed: 5));
        ulong seed = 40;
        foreach (string path in paths)
        {
            ILinearAdapter from = cpu.Linears[path].Adapter!, to = dut.Linears[path].Adapter!;
            ModelTestData.Randomize(from, seed++);
            to.Import(from.Export().ToDictionary(t => t.Suffix, StringComparer.Ordinal));
            to.OnParametersChanged();
        }
    }

    private void Compare(string what, float[] want, float[] got, double tolerance)
    {
        Assert.Equal(want.Length, got.Length);
        double scale = want.Max(x => Math.Abs((double)x));
        Assert.True(scale > 0, $"{what}: the CPU result is all zeros, nothing to compare");
        double error = 0;
        int worst = 0;
        for (int i = 0; i < want.Length; i++)
        {
            double e = Math.Abs((double)got[i] - want[i]);
            if (!(e <= error))
            {
                (error, worst) = (e, i);
            }
        }

        double relative = error / scale;
        Assert.True(relative <= tolerance, $"{what}: norm-relative error {relative:E2} > {tolerance:E0} (element {worst}: {got[worst]} vs {want[worst]} on the CPU, scale {scale:E3})");
        if (what.StartsWith("step 3", StringComparison.Ordinal) || what.StartsWith("logits", StringComparison.Ordinal))
        {
            output.WriteLine($"{what}: {relative:E2}");
        }
    }

    // Parameters compared by how far they moved from the common start: the change is what the steps computed.
    private void CompareChange(string what, float[] start, float[] cpu, float[] dut)
    {
        float[] cpuChange = [.. cpu.Select((x, i) => x - start[i])];
        float[] dutChange = [.. dut.Select((x, i) => x - start[i])];
        Compare($"{what} (change)", cpuChange, dutChange, StepTolerance);
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
