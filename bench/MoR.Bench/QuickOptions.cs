using System.Globalization;
using MoR.Benchmarks;

namespace MoR.Bench;

/// <summary>
/// Options of the quick mode: <c>quick [--iters N] [--warmup N] [--base f32|bf16] [--T N] [--shapes MxKxN,...]
/// [--layer-only | --gemm-only] [--no-torch] [--json FILE]</c>.
/// </summary>
internal sealed record QuickOptions(
    int Iterations = 5,
    int Warmup = 1,
    DType BaseDType = DType.F32,
    int T = 512,
    IReadOnlyList<GemmShape>? Shapes = null,
    bool RunGemm = true,
    bool RunLayer = true,
    bool Torch = true,
    string? JsonPath = null)
{
    public const string Usage =
        "usage: MoR.Bench quick [--iters N] [--warmup N] [--base f32|bf16] [--T N] [--shapes MxKxN,...]\n" +
        "                       [--gemm-only | --layer-only] [--no-torch] [--json FILE]\n" +
        "       MoR.Bench [BenchmarkDotNet options, e.g. --filter '*Gemm*']";

    public IReadOnlyList<GemmShape> GemmShapes => Shapes ?? GemmBenchmark.DefaultShapes;

    public LayerBenchmarkOptions Layer => new(T: T, BaseDType: BaseDType, Iterations: Iterations, Warmup: Warmup);

    /// <exception cref="FormatException">An unknown option or a bad value; the message says which.</exception>
    public static QuickOptions Parse(IReadOnlyList<string> args)
    {
        var o = new QuickOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new FormatException($"{name} needs a value.");
            o = name switch
            {
                "--iters" => o with { Iterations = Positive(name, Value()) },
                "--warmup" => o with { Warmup = Positive(name, Value(), allowZero: true) },
                "--T" => o with { T = Positive(name, Value()) },
                "--base" => o with
                {
                    BaseDType = Value().ToLowerInvariant() switch
                    {
                        "f32" => DType.F32,
                        "bf16" => DType.BF16,
                        var other => throw new FormatException($"--base is f32 or bf16, not '{other}'."),
                    }
                },
                "--shapes" => o with { Shapes = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(GemmShape.Parse)] },
                "--gemm-only" => o with { RunLayer = false },
                "--layer-only" => o with { RunGemm = false },
                "--no-torch" => o with { Torch = false },
                "--json" => o with { JsonPath = Value() },
                _ => throw new FormatException($"Unknown option '{name}'."),
            };
        }

        return o;
    }

    private static int Positive(string name, string text, bool allowZero = false) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && (v > 0 || (allowZero && v == 0))
            ? v
            : throw new FormatException($"{name} needs a {(allowZero ? "non-negative" : "positive")} integer, not '{text}'.");
}
