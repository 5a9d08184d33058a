using System.CommandLine;
using System.Text.Json.Nodes;
using MoR.Model;
using MoR.Tokenization;

namespace MoR.Cli;

/// <summary>
/// <c>mor generate --model DIR [--adapter DIR] --prompt TEXT [sampling flags] [--json]</c>: continues the prompt
/// (raw text, BOS prepended when the tokenizer has one) and prints the new text on stdout.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create(CliConsole console)
    {
        var m = new ModelOptions();
        var s = new SamplingOptions();
        var prompt = new Option<string>("--prompt", "-p") { Description = "The text to continue", Required = true };
        Option<bool> json = CommonOptions.Json();
        var command = new Command("generate", "Continue a prompt with the model (KV-cached; greedy by default)") { prompt, json };
        m.AddTo(command);
        s.AddTo(command);
        command.SetAction(parse =>
        {
            GenerationOptions options = s.Read(parse);
            string text = parse.GetValue(prompt)!;
            using LlamaModel model = m.Open(parse, console);
            ITextTokenizer tokenizer = TokenizerLoader.FromDirectory(parse.GetValue(m.Model)!);
            int[] ids = tokenizer.Encode(text, addBos: tokenizer.BosId is not null);
            if (ids.Length == 0)
            {
                throw new UsageException("--prompt is empty and the tokenizer has no BOS token to start from.");
            }

            if (ids.Length + options.MaxNewTokens > model.Config.MaxPositionEmbeddings)
            {
                throw new UsageException(
                    $"the prompt ({ids.Length} tokens) plus --max-new-tokens {options.MaxNewTokens} exceeds the model's {model.Config.MaxPositionEmbeddings} positions.");
            }

            GenerationResult result = new Generator(model).Generate(ids, options, console.Cancellation);
            string completion = tokenizer.Decode(result.Tokens);
            if (parse.GetValue(json))
            {
                console.Out.WriteLine(new JsonObject
                {
                    ["prompt"] = text,
                    ["completion"] = completion,
                    ["prompt_tokens"] = ids.Length,
                    ["new_tokens"] = result.Tokens.Length,
                    ["finish_reason"] = result.FinishReason == GenerationFinishReason.Length ? "length" : "stop",
                }.ToJsonString());
            }
            else
            {
                console.Out.WriteLine(completion);
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
