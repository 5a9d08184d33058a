using System.CommandLine;
using MoR.Benchmarks;

namespace MoR.Cli;

/// <summary><c>mor bench model</c>: load time and peak memory of a checkpoint, evaluation and generation tokens/s (<see cref="ModelBenchmark"/>).</summary>
internal static class ModelBenchCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Option<string>("--model") { Description = "Hugging Face model folder", Required = true };
        var batch = new Option<int>("--batch") { Description = "Rows per evaluation pass", DefaultValueFactory = _ => 1 };
        var seq = new Option<int>("--seq-len") { Description = "Tokens per evaluation row", DefaultValueFactory = _ => 256 };
        var passes = new Option<int>("--passes") { Description = "Timed evaluation passes", DefaultValueFactory = _ => 3 };
        var prompt = new Option<int>("--prompt-tokens") { Description = "Generation prompt length", DefaultValueFactory = _ => 16 };
        var newTokens = new Option<int>("--new-tokens") { Description = "Tokens to generate (greedy, KV cache)", DefaultValueFactory = _ => 64 };
        Option<string> device = CommonOptions.Device();
        Option<bool> json = CommonOptions.Json();
        var command = new Command("model", "Load time and peak memory of a checkpoint; evaluation and generation tokens/s")
        {
            model, batch, seq, passes, prompt, newTokens, device, json,
        };
        command.SetAction(parse =>
        {
            int b = parse.GetValue(batch), s = parse.GetValue(seq), n = parse.GetValue(passes), p = parse.GetValue(prompt), g = parse.GetValue(newTokens);
            if (b < 1 || s < 2 || n < 1 || p < 1 || p > s || g < 1)
            {
                throw new UsageException("--batch, --passes, --new-tokens must be >= 1, --seq-len >= 2 and 1 <= --prompt-tokens <= --seq-len.");
            }

            ModelBenchmarkResult r = ModelBenchmark.Run(parse.GetValue(model)!, CommonOptions.OpenDevice(parse.GetValue(device)!), b, s, n, p, g);
            if (parse.GetValue(json))
            {
                console.Out.WriteLine(r.ToJson().ReplaceLineEndings(" "));
                return ExitCodes.Ok;
            }

            console.Out.WriteLine($"model            {r.Model} ({TrainBenchmarkTable.Mega(r.ModelParameters)} parameters, {TrainBenchmarkTable.MiB(r.FileBytes)}B of weights)");
            console.Out.WriteLine($"load             {r.LoadSeconds:F2} s; peak RSS {TrainBenchmarkTable.MiB(r.PeakResidentAfterLoadBytes)}B ({TrainBenchmarkTable.MiB(r.ResidentBeforeLoadBytes)}B before loading: the load added {r.LoadPeakOverFileSize:F2}x the file size)");
            console.Out.WriteLine($"evaluation       {r.EvalTokensPerSecond:F0} tokens/s ({r.EvalTokens} tokens per pass)");
            console.Out.WriteLine($"generation       {r.GenerateTokensPerSecond:F1} tokens/s ({r.GeneratedTokens} new tokens after a {r.PromptTokens}-token prompt, greedy, KV cache)");
            console.Out.WriteLine($"peak RSS         {TrainBenchmarkTable.MiB(r.PeakResidentBytes)}B");
            return ExitCodes.Ok;
        });
        return command;
    }
}
