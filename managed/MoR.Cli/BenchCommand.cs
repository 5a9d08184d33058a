using System.CommandLine;
using MoR.Benchmarks;

namespace MoR.Cli;

/// <summary>
/// <c>mor bench layer|gemm</c>: the adapted-layer benchmark (base, LoRA, MoE-LoRA, MoR forward+backward, overhead over
/// the base and against the FLOP floor) and the GEMM throughput benchmark of <see cref="MoR.Benchmarks"/>; a table on
/// stdout, or the report as one JSON object with <c>--json</c>. Never part of the tests' timing assertions.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("bench", "Benchmarks: 'layer' (adapter overhead per method), 'gemm' (y = x·Wᵀ throughput) and 'train' (optimizer steps per method)");
        command.Add(Layer(console));
        command.Add(Gemm(console));
        command.Add(TrainBenchCommand.Create(console));
        command.Add(ModelBenchCommand.Create(console));
        return command;
    }

    private static Command Layer(CliConsole console)
    {
        var d = new LayerBenchmarkOptions();
        var tokens = new Option<int>("--tokens") { Description = "Tokens T per step", DefaultValueFactory = _ => d.T };
        var dIn = new Option<int>("--d-in") { Description = "Input features", DefaultValueFactory = _ => d.DIn };
        var dOut = new Option<int>("--d-out") { Description = "Output features", DefaultValueFactory = _ => d.DOut };
        var experts = new Option<int>("--experts") { Description = "Experts N (MoR, MoE-LoRA)", DefaultValueFactory = _ => d.N };
        var rank = new Option<int>("--rank", "-r") { Description = "Rank r", DefaultValueFactory = _ => d.R };
        var bf16 = new Option<bool>("--bf16-base") { Description = "BF16 frozen weight" };
        var iters = new Option<int>("--iters") { Description = "Timed iterations per method", DefaultValueFactory = _ => d.Iterations };
        var warmup = new Option<int>("--warmup") { Description = "Untimed iterations first", DefaultValueFactory = _ => d.Warmup };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => d.Seed, Description = "Seed for the random data" };
        Option<string> device = CommonOptions.Device();
        Option<bool> json = CommonOptions.Json();
        var command = new Command("layer", "Forward+backward of one adapted projection for base, LoRA, MoE-LoRA and MoR")
        {
            tokens, dIn, dOut, experts, rank, bf16, iters, warmup, seed, device, json,
        };
        command.SetAction(parse =>
        {
            var options = new LayerBenchmarkOptions(
                parse.GetValue(tokens), parse.GetValue(dIn), parse.GetValue(dOut), parse.GetValue(experts), parse.GetValue(rank),
                parse.GetValue(bf16) ? DType.BF16 : DType.F32, parse.GetValue(iters), parse.GetValue(warmup), parse.GetValue(seed));
            try
            {
                options.Validate();
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message.Split(" (Parameter", 2)[0]);
            }

            LayerBenchmarkReport report = LayerBenchmark.Run(CommonOptions.OpenDevice(parse.GetValue(device)!), options);
            console.Out.WriteLine(parse.GetValue(json) ? report.ToJson() : BenchmarkTable.Format(report).TrimEnd());
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Gemm(CliConsole console)
    {
        var shapes = new Option<string[]>("--shape")
        {
            Description = "MxKxN (repeatable); default: " + string.Join(", ", GemmBenchmark.DefaultShapes),
            AllowMultipleArgumentsPerToken = true,
        };
        var dtypes = new Option<string[]>("--dtype") { Description = "Weight type f32 | bf16 (repeatable); default both", AllowMultipleArgumentsPerToken = true };
        dtypes.AcceptOnlyFromAmong("f32", "bf16");
        var iters = new Option<int>("--iters") { Description = "Timed calls per shape and type", DefaultValueFactory = _ => 5 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed calls first", DefaultValueFactory = _ => 1 };
        Option<string> device = CommonOptions.Device();
        Option<bool> json = CommonOptions.Json();
        var command = new Command("gemm", "Throughput of y = x·Wᵀ (F32 and BF16 weights)") { shapes, dtypes, iters, warmup, device, json };
        command.SetAction(parse =>
        {
            List<GemmShape> list;
            try
            {
                list = parse.GetValue(shapes) is { Length: > 0 } given ? [.. given.Select(GemmShape.Parse)] : [.. GemmBenchmark.DefaultShapes];
            }
            catch (FormatException e)
            {
                throw new UsageException($"--shape: {e.Message}");
            }

            if (parse.GetValue(iters) < 1 || parse.GetValue(warmup) < 0)
            {
                throw new UsageException("--iters must be >= 1 and --warmup >= 0.");
            }

            IReadOnlyList<DType>? types = parse.GetValue(dtypes) is { Length: > 0 } t ? [.. t.Distinct().Select(x => x == "bf16" ? DType.BF16 : DType.F32)] : null;
            GemmBenchmarkReport report = GemmBenchmark.Run(CommonOptions.OpenDevice(parse.GetValue(device)!), list, parse.GetValue(iters), parse.GetValue(warmup), types);
            console.Out.WriteLine(parse.GetValue(json) ? report.ToJson() : BenchmarkTable.Format(report).TrimEnd());
            return ExitCodes.Ok;
        });
        return command;
    }
}
