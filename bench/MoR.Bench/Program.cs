using BenchmarkDotNet.Running;
using MoR.Bench;

// `quick`: Stopwatch table of ours vs TorchSharp (what notes quote); `peer`: the TorchSharp LLaMA peer's
// JSON sub-commands; anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "quick")
{
    return QuickMode.Run(args[1..]);
}

// `train`: optimizer steps, ours vs TorchSharp, each in its own process (`train-cell`), then docs/PERFORMANCE.md.
if (args.Length > 0 && args[0] == "train")
{
    return TrainComparison.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "train-cell")
{
    return TrainCell.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "model-cell")
{
    return TrainCell.RunModel(args[1..]);
}

if (args.Length > 0 && args[0] == "peer")
{
    return PeerMode.Run(args[1..]);
}

if (args.Length > 0 && args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(QuickOptions.Usage);
    Console.WriteLine("peer SUBCOMMAND ...: the TorchSharp LLaMA peer (`peer --help` lists the sub-commands).");
    Console.WriteLine("BenchmarkDotNet classes: GemmBenchmarks (MoRNative vs TorchSharp matmul), LayerBenchmarks (adapted layer fwd+bwd).");
    return 0;
}

// Every benchmark class has a TorchSharp peer; without it BenchmarkDotNet would only report failures.
if (!TorchSharpRuntime.IsAvailable)
{
    Console.Error.WriteLine(TorchSharpRuntime.Failure);
    return 1;
}

BenchmarkSwitcher.FromAssembly(typeof(GemmBenchmarks).Assembly).Run(args);
return 0;
