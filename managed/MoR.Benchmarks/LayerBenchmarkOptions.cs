using MoR.Adapters;

namespace MoR.Benchmarks;

/// <summary>
/// One adapted linear layer to time. The defaults are the paper's setting on a LLaMA-7B MLP up-projection:
/// 512 tokens, 4096 → 11008, N = 8 experts, r = 32.
/// </summary>
/// <param name="T">Tokens per forward (batch × sequence length).</param>
/// <param name="DIn">Input features.</param>
/// <param name="DOut">Output features.</param>
/// <param name="N">Experts (MoR, MoE-LoRA).</param>
/// <param name="R">Rank (per expert for MoE-LoRA).</param>
/// <param name="BaseDType">The frozen weight's type: F32, or BF16 (mixed precision: x and dy rounded to BF16 in its GEMMs).</param>
/// <param name="Iterations">Timed fwd+bwd iterations per method.</param>
/// <param name="Warmup">Untimed iterations per method first.</param>
/// <param name="Seed">Seeds the weights, inputs and adapter initialisation.</param>
public sealed record LayerBenchmarkOptions(
    int T = 512,
    int DIn = 4096,
    int DOut = 11008,
    int N = 8,
    int R = 32,
    DType BaseDType = DType.F32,
    int Iterations = 5,
    int Warmup = 1,
    ulong Seed = 0)
{
    /// <summary>The FLOP counts of this layer's methods (MOR.md §2).</summary>
    public LayerFlops Flops => new(DIn, DOut);

    /// <summary>The name of the frozen base's row: no adapter.</summary>
    public const string Base = "base";

    /// <summary>The config of <paramref name="method"/> at this rank (and, for routed methods, expert count); null for <see cref="Base"/>.</summary>
    /// <exception cref="ArgumentException">No such method.</exception>
    public AdapterConfig? ConfigFor(string method)
    {
        if (method == Base)
        {
            return null;
        }

        AdapterConfig c = AdapterMethods.Get(method).DefaultConfig with { Rank = R, Alpha = 2f * R };
        return c is RoutedAdapterConfig routed ? routed with { Experts = N } : c;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad field.</summary>
    public void Validate()
    {
        Check(T >= 1, nameof(T), $"T must be >= 1; got {T}.");
        Check(DIn >= 1, nameof(DIn), $"DIn must be >= 1; got {DIn}.");
        Check(DOut >= 1, nameof(DOut), $"DOut must be >= 1; got {DOut}.");
        Check(N >= 1, nameof(N), $"N (experts) must be >= 1; got {N}.");
        Check(R >= 1, nameof(R), $"R (rank) must be >= 1; got {R}.");
        Check(BaseDType is DType.F32 or DType.BF16, nameof(BaseDType), $"The base weight must be F32 or BF16; got {BaseDType}.");
        Check(Iterations >= 1, nameof(Iterations), $"Iterations must be >= 1; got {Iterations}.");
        Check(Warmup >= 0, nameof(Warmup), $"Warmup must be >= 0; got {Warmup}.");
    }

    private static void Check(bool ok, string field, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message, field);
        }
    }
}
