using System.CommandLine;
using System.Text;
using Microsoft.Extensions.AI;
using MoR.Model;
using MoR.Tokenization;

namespace MoR.Cli;

/// <summary>
/// <c>mor chat --model DIR [--adapter DIR]</c>: reads one user message per line from stdin, answers each with the
/// model's chat template (through <see cref="MoRChatClient"/>, streamed to stdout, one reply per line), keeps the
/// conversation, and exits 0 at end of input. <c>/reset</c> forgets the conversation; <c>/exit</c> ends it.
/// </summary>
internal static class ChatCommand
{
    public static Command Create(CliConsole console)
    {
        var m = new ModelOptions();
        var s = new SamplingOptions();
        var system = new Option<string?>("--system") { Description = "A system message that opens the conversation" };
        Option<string?> format = CommonOptions.ChatFormat();
        var command = new Command("chat", "Chat with the model: one message per line on stdin, replies on stdout; ends at end of input") { system, format };
        m.AddTo(command);
        s.AddTo(command);
        command.SetAction(parse =>
        {
            GenerationOptions options = s.Read(parse);
            string modelDir = parse.GetValue(m.Model)!;
            using LlamaModel model = m.Open(parse, console);
            ITextTokenizer tokenizer = TokenizerLoader.FromDirectory(modelDir);
            IChatFormat formatter = ChatFormats.FromDirectory(modelDir, parse.GetValue(format));
            using var client = new MoRChatClient(model, tokenizer, formatter, options);
            return Loop(console, client, parse.GetValue(system), options.MaxNewTokens);
        });
        return command;
    }

    private static int Loop(CliConsole console, MoRChatClient client, string? system, int maxNewTokens)
    {
        var history = new List<ChatTurn>();
        if (system is not null)
        {
            history.Add(ChatTurn.System(system));
        }

        int systemTurns = history.Count;
        int positions = client.Model.Config.MaxPositionEmbeddings;
        console.Error.WriteLine($"mor chat: {(client.Formatter is ChatTemplate ? "the chat template of " : "the built-in format ")}{client.Formatter.Name}; one message per line, /reset forgets the conversation, end of input (Ctrl-D) quits");
        while (!console.Cancellation.IsCancellationRequested)
        {
            if (console.StderrIsTerminal)
            {
                console.Error.Write("> ");
            }

            string? line = console.In.ReadLine();
            if (line is null || line.Trim() is "/exit" or "/quit")
            {
                break;
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            if (line.Trim() == "/reset")
            {
                history.RemoveRange(systemTurns, history.Count - systemTurns);
                console.Error.WriteLine("mor chat: conversation cleared");
                continue;
            }

            history.Add(ChatTurn.User(line));

            // Forget the oldest exchanges (never the system message) until the prompt and the reply fit the context.
            while (client.Formatter.Encode(client.Tokenizer, history, addGenerationPrompt: true).Ids.Length + maxNewTokens > positions
                   && history.Count - systemTurns > 1)
            {
                history.RemoveRange(systemTurns, Math.Min(2, history.Count - systemTurns - 1));
                console.Error.WriteLine("mor chat: the conversation no longer fits the context; forgot the oldest exchange");
            }

            if (client.Formatter.Encode(client.Tokenizer, history, addGenerationPrompt: true).Ids.Length + maxNewTokens > positions)
            {
                history.RemoveAt(history.Count - 1);
                console.Error.WriteLine($"mor chat: that message plus --max-new-tokens {maxNewTokens} does not fit the model's {positions} positions; not sent");
                continue;
            }

            var reply = new StringBuilder();
            IAsyncEnumerable<ChatResponseUpdate> updates = client.GetStreamingResponseAsync(
                [.. history.Select(t => new ChatMessage(new ChatRole(t.Role), t.Content))], cancellationToken: console.Cancellation);
            Consume(updates, text =>
            {
                console.Out.Write(text);
                console.Out.Flush();
                reply.Append(text);
            });
            console.Out.WriteLine();
            console.Out.Flush();
            history.Add(ChatTurn.Assistant(reply.ToString()));
        }

        return ExitCodes.Ok;
    }

    private static void Consume(IAsyncEnumerable<ChatResponseUpdate> updates, Action<string> write)
    {
        IAsyncEnumerator<ChatResponseUpdate> e = updates.GetAsyncEnumerator();
        try
        {
            while (e.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                if (e.Current.Text is { Length: > 0 } text)
                {
                    write(text);
                }
            }
        }
        finally
        {
            e.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
