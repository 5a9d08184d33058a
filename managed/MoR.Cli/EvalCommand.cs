using System.CommandLine;
using System.Globalization;
using MoR.Model;
using MoR.Tokenization;

namespace MoR.Cli;

/// <summary><c>mor eval --model DIR [--adapter DIR] --data FILE.jsonl [--json]</c>: mean next-token NLL and perplexity.</summary>
internal static class EvalCommand
{
    public static Command Create(CliConsole console)
    {
        var m = new ModelOptions();
        var data = new Option<string>("--data") { Description = "JSONL: {\"text\"} (BOS prepended, every token scored) or {\"input_ids\"[,\"labels\"]} (-100 = not scored)", Required = true };
        var maxLength = new Option<int?>("--max-length") { Description = "Truncate longer sequences to this many tokens (default: the model's max_position_embeddings)" };
        Option<bool> json = CommonOptions.Json();
        var command = new Command("eval", "Score a JSONL data set: tokens, mean NLL, perplexity") { data, maxLength, json };
        m.AddTo(command);
        command.SetAction(parse =>
        {
            string path = parse.GetValue(data)!;
            if (!File.Exists(path))
            {
                throw new UsageException($"--data '{path}' does not exist.");
            }

            if (parse.GetValue(maxLength) is < 2)
            {
                throw new UsageException($"--max-length must be >= 2; got {parse.GetValue(maxLength)}.");
            }

            using LlamaModel model = m.Open(parse, console);
            ITextTokenizer? tokenizer = ModelOptions.TryTokenizer(parse.GetValue(m.Model)!);
            int max = parse.GetValue(maxLength) ?? model.Config.MaxPositionEmbeddings;
            EvaluationResult result = Evaluator.EvaluateJsonl(model, path, tokenizer, max, console.Cancellation);
            if (parse.GetValue(json))
            {
                console.Out.WriteLine(result.ToJson());
            }
            else
            {
                console.Out.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{result.Sequences} sequences, {result.Tokens} tokens: mean NLL {result.MeanNll:F4} nats, perplexity {result.Perplexity:F3}"));
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
