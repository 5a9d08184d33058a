using System.CommandLine;
using System.Text.Json.Nodes;
using MoR.Model;
using MoR.Tokenization;

namespace MoR.Cli;

/// <summary>
/// <c>mor generate --model DIR [--adapter DIR] --prompt TEXT [--chat [--chat-format F]] [sampling flags] [--json]</c>:
/// continues the prompt (raw text, BOS prepended when the tokenizer has one; with <c>--chat</c>, the prompt is a user
/// message rendered with the model's chat template and generation stops at its end of turn) and prints the new text.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create(CliConsole console)
    {
        var m = new ModelOptions();
        var s = new SamplingOptions();
        var prompt = new Option<string>("--prompt", "-p") { Description = "The text to continue", Required = true };
        Option<bool> json = CommonOptions.Json();
        var chat = new Option<bool>("--chat") { Description = "Treat --prompt as a user message: render it with the model's chat template and answer it" };
        Option<string?> chatFormat = CommonOptions.ChatFormat();
        var command = new Command("generate", "Continue a prompt with the model (KV-cached; greedy by default)") { prompt, json, chat, chatFormat };
        m.AddTo(command);
        s.AddTo(command);
        command.SetAction(parse =>
        {
            GenerationOptions options = s.Read(parse);
            string text = parse.GetValue(prompt)!;
            using LlamaModel model = m.Open(parse, console);
            ITextTokenizer tokenizer = TokenizerLoader.FromDirectory(parse.GetValue(m.Model)!);
            int[] ids = tokenizer.Encode(text, addBos: tokenizer.BosId is not null);
            if (parse.GetValue(chat) || parse.GetValue(chatFormat) is not null)
            {
                IChatFormat format = ChatFormats.FromDirectory(parse.GetValue(m.Model)!, parse.GetValue(chatFormat));
                ids = format.Encode(tokenizer, [ChatTurn.User(text)], addGenerationPrompt: true).Ids;
                int[] stops = [.. format.StopTokens.Select(t => tokenizer.TryGetTokenId(t, out int id) ? id : -1).Where(id => id >= 0)];
                options = options with { StopTokenIds = [.. options.StopTokenIds, .. stops] };
            }

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
