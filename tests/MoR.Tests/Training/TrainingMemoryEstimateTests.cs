using MoR.Adapters;
using MoR.IO;
using MoR.Tests.Adapters;
using MoR.Training;

namespace MoR.Tests.Training;

/// <summary>
/// <see cref="TrainingMemoryEstimate"/>'s arithmetic against hand computations on a tiny LLaMA (d = 32, ff = 64,
/// one layer, two heads of 16, vocabulary 261, untied), and its refusal against a limit.
/// </summary>
public sealed class TrainingMemoryEstimateTests
{
    internal static LlamaConfig Tiny(int layers = 1) => new()
    {
        HiddenSize = 32,
        IntermediateSize = 64,
        NumHiddenLayers = layers,
        NumAttentionHeads = 2,
        VocabSize = 261,
        MaxPositionEmbeddings = 128,
    };

    private static TrainingOptions Lora => new()
    {
        Adapter = TestAdapters.ConfigOrFull("lora", rank: 4),
        MicroBatchSize = 2,
        SequenceLength = 32,
    };

    [Fact]
    public void LoRA_on_the_tiny_model_matches_the_hand_computation()
    {
        TrainingMemoryEstimate e = TrainingMemoryEstimate.For(Tiny(), Lora, frozenBytesPerValue: 4, recompute: false, attentionWorkers: 1, dataRows: 10);

        // Matrices: q, k, v, o 4·32·32 = 4096, gate/up/down 3·64·32 = 6144; embedding and LM head 2·261·32 = 16704.
        // Norms 2·32 + 32 = 96; RoPE's inverse frequencies head_dim / 2 = 8. All F32.
        Assert.Equal(4.0 * (4096 + 6144 + 16704 + 96 + 8), e.Weights);
        // LoRA r = 4 on gate, up (32 -> 64) and down (64 -> 32): 3 · (4·32 + 64·4) = 1152 values.
        Assert.Equal(4.0 * 1152, e.Adapters);
        Assert.Equal(12.0 * 1152, e.Optimizer);  // gradient, first and second moment
        // T = 2·32 = 64 tokens. Residual stream (L+1)·T·d = 4096; the layer's saved set T·(3d + 2q + 2kv + 3ff + 2 + heads)
        // = 64·420 = 26880; o/down output, final norm output and two stream gradients 4·T·d = 8192; final rstd 64;
        // backward scratch T·(d + 3ff + 2q + 2kv) = 64·352 = 22528; one logits chunk of all 64 rows 64·261 = 16704 with
        // targets and losses 128; the adapters' saved h, 3·T·r = 768. Ids and positions: 2·64 int32.
        Assert.Equal((4.0 * (4096 + 26880 + 8192 + 64 + 22528 + 16704 + 128 + 768)) + (4.0 * 128), e.Activations);
        // The largest adapter backward scratch T·r = 256 floats; one attention worker's two 32×32 score blocks.
        Assert.Equal(4.0 * (256 + (2 * 32 * 32)), e.Workspace);
        // Ten rows of 32 inputs and 32 targets, the packer's two 33-token rows, one micro-batch's copy.
        Assert.Equal(4.0 * ((2 * 10 * 32) + (2 * 33) + (2 * 64)), e.Data);
        // Host arrays: the values the adapters were built from, their export at the end and the writer's copy.
        Assert.Equal(12.0 * 1152, e.HostCopies);
        Assert.Equal(e.Weights + e.Adapters + e.Optimizer + e.Activations + e.Workspace + e.Data + e.HostCopies, e.Total);
        Assert.Equal(e.Total - e.Data - e.HostCopies, e.DeviceBytes);
    }

    [Fact]
    public void MoR_counts_its_parameters_Q_buffer_saved_gates_and_backward_scratch()
    {
        TrainingOptions o = Lora with { Adapter = TestAdapters.Config("mor", rank: 2, experts: 3, targets: ["up_proj"]) };
        TrainingMemoryEstimate mor = TrainingMemoryEstimate.For(Tiny(), o, attentionWorkers: 0);
        TrainingMemoryEstimate none = TrainingMemoryEstimate.For(Tiny(), o with { Adapter = null }, attentionWorkers: 0);

        // up_proj 32 -> 64, r = 2, N = 3: A 2·32, B 64·2, ω_A 3·2, ω_B 3·64, router 3·32 = 486 values; Q = 64·3·2 = 384.
        Assert.Equal(4.0 * (486 + 384), mor.Adapters);
        Assert.Equal(12.0 * 486, mor.Optimizer);
        // Saved per token: [h|z] (r + N) and the gates N = 8 floats, T = 64.
        double baseActivations = none.Activations;
        Assert.Equal(4.0 * 8 * 64, mor.Activations - baseActivations);
        // Backward scratch: P and dP 2·T·N·r = 768, [dh|dz] T·(r + N) = 320, dQ 64·3·2 = 384.
        Assert.Equal(4.0 * (768 + 320 + 384), mor.Workspace);
    }

    [Fact]
    public void MoE_LoRA_and_DoRA_count_their_own_parameters()
    {
        AdapterConfig Sized(string method) => TestAdapters.Config(method, rank: 2, experts: 3, targets: ["down_proj"]);
        // down_proj 64 -> 32. MoE-LoRA: N·r·in + N·out·r + N·in = 384 + 192 + 192; DoRA: r·in + out·r + out = 128 + 64 + 32.
        Assert.Equal(4.0 * 768, TrainingMemoryEstimate.For(Tiny(), Lora with { Adapter = Sized("moe-lora") }).Adapters);
        Assert.Equal(4.0 * (224 + 64), TrainingMemoryEstimate.For(Tiny(), Lora with { Adapter = Sized("dora") }).Adapters);  // + ‖W‖² and norms, 2·32
    }

    [Fact]
    public void Full_fine_tuning_keeps_every_weight_in_F32_with_gradient_and_moments()
    {
        TrainingMemoryEstimate e = TrainingMemoryEstimate.For(Tiny(), Lora with { Adapter = null }, frozenBytesPerValue: 2);
        double values = 4096 + 6144 + 16704 + 96;
        Assert.Equal(4.0 * (values + 8), e.Weights);     // F32 whatever the frozen dtype (+ the RoPE frequencies)
        Assert.Equal(12.0 * values, e.Optimizer);
        Assert.Equal(0, e.Adapters);
        Assert.Equal(8.0 * 261 * 32, e.HostCopies);        // the largest tensor (the embedding) and its copy
    }

    [Fact]
    public void BF16_frozen_weights_halve_the_matrices_but_not_the_norms()
    {
        double f32 = TrainingMemoryEstimate.For(Tiny(), Lora, frozenBytesPerValue: 4).Weights;
        double bf16 = TrainingMemoryEstimate.For(Tiny(), Lora, frozenBytesPerValue: 2).Weights;
        Assert.Equal(2.0 * (4096 + 6144 + 16704), f32 - bf16);
    }

    [Fact]
    public void Recompute_keeps_one_layer_set_instead_of_all()
    {
        TrainingMemoryEstimate all = TrainingMemoryEstimate.For(Tiny(layers: 3), Lora, recompute: false);
        TrainingMemoryEstimate one = TrainingMemoryEstimate.For(Tiny(layers: 3), Lora, recompute: true);
        Assert.Equal(4.0 * 2 * 26880, all.Activations - one.Activations);
    }

    [Fact]
    public void Grouped_heads_add_the_CPU_attentions_dK_dV_partials()
    {
        LlamaConfig gqa = new() { HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 1, NumAttentionHeads = 2, NumKeyValueHeads = 1, VocabSize = 261 };
        double cpu = TrainingMemoryEstimate.For(gqa, Lora, attentionWorkers: 3).Workspace;
        double cuda = TrainingMemoryEstimate.For(gqa, Lora, attentionWorkers: 0).Workspace;
        // Three workers' two 32×32 score blocks, and the partials 2·T·q = 2·64·32.
        Assert.Equal(4.0 * ((3 * 2 * 32 * 32) + (2 * 64 * 32)), cpu - cuda);
    }

    [Fact]
    public void A_tied_model_has_no_LM_head()
    {
        LlamaConfig tied = new() { HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 1, NumAttentionHeads = 2, VocabSize = 261, TieWordEmbeddings = true };
        Assert.Equal(4.0 * 261 * 32, TrainingMemoryEstimate.For(Tiny(), Lora).Weights - TrainingMemoryEstimate.For(tied, Lora).Weights);
    }

    [Theory]
    [InlineData("micro-batch")]
    [InlineData("seq-len")]
    [InlineData("rank")]
    [InlineData("experts")]
    public void Each_size_flag_grows_the_estimate_without_overflow(string flag)
    {
        var mor = (MoRConfig)TestAdapters.Config("mor", rank: 4);
        TrainingOptions small = Lora with { Adapter = mor };
        TrainingOptions huge = flag switch
        {
            "micro-batch" => small with { MicroBatchSize = 100_000 },
            "seq-len" => small with { SequenceLength = 1_000_000_000 },
            "rank" => small with { Adapter = mor with { Rank = 1_000_000 } },
            _ => small with { Adapter = mor with { Experts = 1_000_000 } },
        };
        double before = TrainingMemoryEstimate.For(Tiny(), small).Total, after = TrainingMemoryEstimate.For(Tiny(), huge).Total;
        Assert.True(after > 100 * before && double.IsFinite(after), $"{flag}: {before} -> {after}");
    }

    [Fact]
    public void EnsureFits_refuses_with_the_estimate_the_limit_and_what_to_lower()
    {
        TrainingOptions o = Lora with { MicroBatchSize = 100_000 };
        TrainingMemoryEstimate e = TrainingMemoryEstimate.For(Tiny(), o);
        e.EnsureFits(new MemoryLimit((long)e.Total + 1, "test"), hostLimit: null, o);

        TrainingMemoryException x = Assert.Throws<TrainingMemoryException>(() => e.EnsureFits(new MemoryLimit((long)e.Total - 1, "a test limit"), null, o));
        Assert.Equal(e.Total, x.Needed);
        Assert.Contains($"needs about {TrainingMemoryEstimate.Format(e.Total)} (activations ", x.Message, StringComparison.Ordinal);
        Assert.Contains("is available (a test limit)", x.Message, StringComparison.Ordinal);
        Assert.Contains("lower --micro-batch", x.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', x.Message);
    }

    [Fact]
    public void On_a_separate_device_the_host_parts_count_against_the_host()
    {
        TrainingOptions o = Lora;
        TrainingMemoryEstimate e = TrainingMemoryEstimate.For(Tiny(), o, dataRows: 1_000_000);
        var device = new MemoryLimit((long)e.DeviceBytes + 1, "device");
        e.EnsureFits(device, new MemoryLimit((long)e.HostBytes + 1, "host"), o);
        Assert.Throws<TrainingMemoryException>(() => e.EnsureFits(new MemoryLimit((long)e.DeviceBytes - 1, "device"), new MemoryLimit(long.MaxValue, "host"), o));
        TrainingMemoryException host = Assert.Throws<TrainingMemoryException>(() => e.EnsureFits(device, new MemoryLimit((long)e.HostBytes - 1, "host"), o));
        Assert.Contains("data rows", host.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(512.0 * 1024 * 1024, "512.0 MiB")]
    [InlineData(1.5 * 1024 * 1024 * 1024, "1.5 GiB")]
    [InlineData(9268.6 * 1024 * 1024 * 1024, "9,268.6 GiB")]
    public void Sizes_print_in_MiB_or_GiB(double bytes, string text) => Assert.Equal(text, TrainingMemoryEstimate.Format(bytes));
}
