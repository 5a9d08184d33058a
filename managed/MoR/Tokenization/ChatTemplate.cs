using System.Text.RegularExpressions;
using MoR.Templates;

namespace MoR.Tokenization;

/// <summary>
/// A model's own Jinja <c>chat_template</c> (from <c>tokenizer_config.json</c>), run as written with
/// <c>messages</c>, <c>add_generation_prompt</c>, <c>bos_token</c>, <c>eos_token</c> and <c>tools</c> = none.
/// </summary>
/// <remarks>
/// For training, the assistant's tokens come from the rendered text (<see cref="ChooseMaskStrategy"/>):
/// <c>{% generation %}</c> blocks where the template has them; otherwise the difference between rendering the
/// conversation up to each reply with the generation prompt and up to the end of that reply, when all those
/// renderings are prefixes of the whole; otherwise (templates that rewrite earlier turns) turn by turn.
/// A token that straddles the start of a reply counts as the reply's, one that straddles its end does not.
/// </remarks>
public sealed partial class ChatTemplate : IChatFormat
{
    /// <summary>The file a model directory may keep its template in instead of <c>tokenizer_config.json</c>.</summary>
    public const string TemplateFileName = "chat_template.jinja";

    private readonly string? _bosToken;
    private readonly string? _eosToken;
    private readonly Func<DateTimeOffset>? _clock;
    private IReadOnlyList<string>? _stopTokens;

    /// <summary>Wraps a parsed template.</summary>
    /// <param name="template">The template.</param>
    /// <param name="bosToken">The <c>bos_token</c> the template sees (none when null).</param>
    /// <param name="eosToken">The <c>eos_token</c> the template sees (none when null).</param>
    /// <param name="clock">The current time for <c>strftime_now</c>; the local time when null.</param>
    public ChatTemplate(JinjaTemplate template, string? bosToken, string? eosToken, Func<DateTimeOffset>? clock = null)
    {
        Template = template ?? throw new ArgumentNullException(nameof(template));
        _bosToken = bosToken;
        _eosToken = eosToken;
        _clock = clock;
    }

    /// <summary>The template.</summary>
    public JinjaTemplate Template { get; }

    /// <inheritdoc/>
    public string Name => Template.Name;

    /// <summary>The <c>eos_token</c>, and the end-of-turn marker the template writes after a reply (found by rendering a probe
    /// conversation: the first <c>&lt;…&gt;</c> token after the reply, e.g. <c>&lt;|im_end|&gt;</c> or <c>&lt;end_of_turn&gt;</c>).</summary>
    public IReadOnlyList<string> StopTokens => _stopTokens ??= FindStopTokens();

    /// <summary>Reads a model directory's chat template: <c>chat_template.jinja</c> when present (the file newer
    /// transformers versions save, and which then takes precedence, as there), else the <c>chat_template</c> of
    /// <c>tokenizer_config.json</c>.</summary>
    /// <param name="directory">The model directory.</param>
    /// <returns>The template, or <see langword="null"/> when the directory has none.</returns>
    /// <exception cref="TemplateException">The template does not parse (the message names the file and line).</exception>
    public static ChatTemplate? FromDirectory(string directory)
    {
        TokenizerConfig config = TokenizerConfig.Load(directory);
        string file = Path.Combine(directory, TemplateFileName);
        (string? source, string origin) = File.Exists(file)
            ? (File.ReadAllText(file), file)
            : (config.ChatTemplate, Path.Combine(directory, TokenizerConfig.FileName));
        return source is null ? null : new ChatTemplate(JinjaTemplate.Parse(source, $"'{origin}'"), config.BosToken, config.EosToken);
    }

    /// <inheritdoc/>
    public string Format(IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt) => Render(messages, addGenerationPrompt).Text;

    /// <inheritdoc/>
    /// <remarks>The mask covers the assistant's replies where the template marks them with generation blocks or the
    /// prefix difference applies; otherwise it is all false (use <see cref="EncodeForTraining"/> to train).</remarks>
    public ChatEncoding Encode(ITextTokenizer tokenizer, IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        (string text, IReadOnlyList<(int, int)> spans) = Render(messages, addGenerationPrompt);
        if (!Template.HasGenerationBlocks)
        {
            spans = !addGenerationPrompt && PrefixSpans(messages, text) is { } prefix ? prefix : [];
        }

        return EncodeText(tokenizer, text, spans);
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">No strategy can find the replies (the rendering of a reply does not
    /// extend the rendering of its prompt).</exception>
    public ChatEncoding EncodeForTraining(ITextTokenizer tokenizer, IReadOnlyList<ChatTurn> messages)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        switch (SelectMaskStrategy(messages, out string? text, out IReadOnlyList<(int, int)>? spans))
        {
            case AssistantMaskStrategy.GenerationBlocks:
            case AssistantMaskStrategy.PrefixDifference:
                return EncodeText(tokenizer, text!, spans!);
            default:
                var ids = new List<int>();
                var mask = new List<bool>();
                foreach ((string prompt, string reply) in Turns(messages))
                {
                    ChatEncoding turn = EncodeText(tokenizer, prompt + reply, [(prompt.Length, reply.Length)]);
                    ids.AddRange(turn.Ids);
                    mask.AddRange(turn.IsAssistant);
                }

                return new ChatEncoding([.. ids], [.. mask]);
        }
    }

    /// <summary>Which way <see cref="EncodeForTraining"/> finds the assistant's tokens of this conversation.</summary>
    /// <param name="messages">The conversation.</param>
    /// <returns>The strategy.</returns>
    public AssistantMaskStrategy ChooseMaskStrategy(IReadOnlyList<ChatTurn> messages) => SelectMaskStrategy(messages, out _, out _);

    private AssistantMaskStrategy SelectMaskStrategy(IReadOnlyList<ChatTurn> messages, out string? text, out IReadOnlyList<(int, int)>? spans)
    {
        ArgumentNullException.ThrowIfNull(messages);
        (text, spans) = Render(messages, addGenerationPrompt: false);
        if (Template.HasGenerationBlocks)
        {
            return AssistantMaskStrategy.GenerationBlocks;
        }

        spans = PrefixSpans(messages, text);
        return spans is not null ? AssistantMaskStrategy.PrefixDifference : AssistantMaskStrategy.TurnByTurn;
    }

    // Reply i spans [len(render(messages[..i], prompt)), len(render(messages[..i+1]))) when each rendering extends the
    // previous one and the whole; null when the template rewrites earlier turns.
    private List<(int, int)>? PrefixSpans(IReadOnlyList<ChatTurn> messages, string whole)
    {
        var spans = new List<(int, int)>();
        int covered = 0;
        foreach ((_, string prompt, string upToReply) in Replies(messages))
        {
            if (!upToReply.StartsWith(prompt, StringComparison.Ordinal) || !whole.StartsWith(upToReply, StringComparison.Ordinal) || prompt.Length < covered)
            {
                return null;
            }

            spans.Add((prompt.Length, upToReply.Length - prompt.Length));
            covered = upToReply.Length;
        }

        return spans;
    }

    // Each reply in the context the model sees when it writes it: (prompt with generation prompt, the reply's text).
    private IEnumerable<(string Prompt, string Reply)> Turns(IReadOnlyList<ChatTurn> messages)
    {
        foreach ((int index, string prompt, string upToReply) in Replies(messages))
        {
            if (!upToReply.StartsWith(prompt, StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"chat template {Name}: cannot find the assistant's reply in message {index}: rendering the conversation up to it does not extend the rendering of its prompt.");
            }

            yield return (prompt, upToReply[prompt.Length..]);
        }
    }

    private IEnumerable<(int Index, string Prompt, string UpToReply)> Replies(IReadOnlyList<ChatTurn> messages)
    {
        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i].Role == "assistant")
            {
                yield return (i, Format([.. messages.Take(i)], addGenerationPrompt: true), Format([.. messages.Take(i + 1)], addGenerationPrompt: false));
            }
        }
    }

    private (string Text, IReadOnlyList<(int Start, int Length)> Spans) Render(IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var variables = new Dictionary<string, object?>
        {
            ["messages"] = messages.Select(m => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content }).ToList(),
            ["add_generation_prompt"] = addGenerationPrompt,
            ["bos_token"] = _bosToken,
            ["eos_token"] = _eosToken,
            ["tools"] = null,
        };
        return Template.RenderWithGenerationSpans(variables, _clock);
    }

    // Tokenizes the text whole; the tokens before a character offset are those a tokenization of the text up to that
    // offset shares with the whole (so a token straddling the offset belongs after it).
    private static ChatEncoding EncodeText(ITextTokenizer tokenizer, string text, IReadOnlyList<(int Start, int Length)> spans)
    {
        int[] ids = tokenizer.Encode(text, addBos: false);
        var mask = new bool[ids.Length];
        var tokensBefore = new Dictionary<int, int> { [0] = 0, [text.Length] = ids.Length };
        int TokensBefore(int offset)
        {
            if (!tokensBefore.TryGetValue(offset, out int n))
            {
                int[] prefix = tokenizer.Encode(text[..offset], addBos: false);
                while (n < prefix.Length && n < ids.Length && prefix[n] == ids[n])
                {
                    n++;
                }

                tokensBefore[offset] = n;
            }

            return n;
        }

        foreach ((int start, int length) in spans)
        {
            for (int t = TokensBefore(start), end = TokensBefore(start + length); t < end; t++)
            {
                mask[t] = true;
            }
        }

        return new ChatEncoding(ids, mask);
    }

    private List<string> FindStopTokens()
    {
        var stops = new List<string>();
        if (_eosToken is not null)
        {
            stops.Add(_eosToken);
        }

        const string Probe = "\uE000\uE001";
        try
        {
            string text = Format([ChatTurn.User("\uE002"), ChatTurn.Assistant(Probe)], addGenerationPrompt: false);
            int at = text.IndexOf(Probe, StringComparison.Ordinal);
            if (at >= 0 && EndOfTurn().Match(text, at + Probe.Length) is { Success: true } m && !stops.Contains(m.Groups[1].Value))
            {
                stops.Add(m.Groups[1].Value);
            }
        }
        catch (TemplateException)
        {
            // A template that refuses the probe (e.g. one that needs a system message) leaves the EOS token alone.
        }

        return stops;
    }

    [GeneratedRegex(@"\G\s*(<[^<>\s]{1,64}>)")]
    private static partial Regex EndOfTurn();
}
