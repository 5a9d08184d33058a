using System.Text;

namespace MoR.Tokenization;

/// <summary>
/// The five built-in chat formats (LLaMA 2, LLaMA 3, ChatML, Zephyr, Mistral), for models without a
/// <c>chat_template</c> (a model's own template is run by <see cref="ChatTemplate"/>): chosen explicitly, or
/// recognised from markers in a template (<see cref="Detect"/>). Each reproduces its reference template's text.
/// </summary>
public sealed class ChatFormatter : IChatFormat
{
    private const string Llama2SystemOpen = "<<SYS>>\n";
    private const string Llama2SystemClose = "\n<</SYS>>\n\n";

    /// <summary>Creates a formatter.</summary>
    /// <param name="kind">The format.</param>
    /// <param name="bosToken">The BOS token's string (formats that start with it); defaults per format.</param>
    /// <param name="eosToken">The EOS token's string; defaults per format.</param>
    public ChatFormatter(ChatTemplateKind kind, string? bosToken = null, string? eosToken = null)
    {
        Kind = kind;
        BosToken = bosToken ?? (kind == ChatTemplateKind.Llama3 ? "<|begin_of_text|>" : "<s>");
        EosToken = eosToken ?? kind switch
        {
            ChatTemplateKind.Llama3 => "<|eot_id|>",
            ChatTemplateKind.ChatMl => "<|im_end|>",
            _ => "</s>",
        };
    }

    /// <summary>The format.</summary>
    public ChatTemplateKind Kind { get; }

    /// <inheritdoc/>
    public string Name => Kind.ToString().ToLowerInvariant();

    /// <summary>The BOS token's string.</summary>
    public string BosToken { get; }

    /// <summary>The EOS token's string.</summary>
    public string EosToken { get; }

    /// <inheritdoc/>
    public IReadOnlyList<string> StopTokens => Kind switch
    {
        ChatTemplateKind.Llama3 => Distinct("<|eot_id|>", EosToken),
        ChatTemplateKind.ChatMl => Distinct("<|im_end|>", EosToken),
        _ => [EosToken],
    };

    /// <summary>Recognises a format from the markers in a Jinja <c>chat_template</c>.</summary>
    /// <param name="chatTemplate">The template text.</param>
    /// <returns>The format, or <see langword="null"/> when none is recognised.</returns>
    public static ChatTemplateKind? Detect(string? chatTemplate)
    {
        if (string.IsNullOrEmpty(chatTemplate))
        {
            return null;
        }

        if (chatTemplate.Contains("<|start_header_id|>", StringComparison.Ordinal))
        {
            return ChatTemplateKind.Llama3;
        }

        if (chatTemplate.Contains("<|im_start|>", StringComparison.Ordinal))
        {
            return ChatTemplateKind.ChatMl;
        }

        if (chatTemplate.Contains("<|user|>", StringComparison.Ordinal) || chatTemplate.Contains("<|assistant|>", StringComparison.Ordinal))
        {
            return ChatTemplateKind.Zephyr;
        }

        if (chatTemplate.Contains("[INST]", StringComparison.Ordinal))
        {
            return chatTemplate.Contains("<<SYS>>", StringComparison.Ordinal) ? ChatTemplateKind.Llama2 : ChatTemplateKind.Mistral;
        }

        return null;
    }

    /// <summary>Parses a format name: <c>llama2</c>, <c>llama3</c>, <c>chatml</c>, <c>zephyr</c>, <c>mistral</c> (case-insensitive).</summary>
    /// <param name="name">The name.</param>
    /// <returns>The format.</returns>
    /// <exception cref="ArgumentException">An unknown name; the message lists the known ones.</exception>
    public static ChatTemplateKind ParseKind(string name) => name?.ToLowerInvariant() switch
    {
        "llama2" or "llama-2" => ChatTemplateKind.Llama2,
        "llama3" or "llama-3" => ChatTemplateKind.Llama3,
        "chatml" => ChatTemplateKind.ChatMl,
        "zephyr" => ChatTemplateKind.Zephyr,
        "mistral" => ChatTemplateKind.Mistral,
        _ => throw new ArgumentException($"Unknown chat format '{name}'; use llama2, llama3, chatml, zephyr or mistral.", nameof(name)),
    };

    /// <summary>The formatter for a model directory: <paramref name="kind"/> if given, else the format its
    /// <c>tokenizer_config.json</c> chat_template shows; BOS/EOS strings from the same file.</summary>
    /// <param name="directory">The model directory.</param>
    /// <param name="kind">An explicit format, overriding detection.</param>
    /// <returns>The formatter.</returns>
    /// <exception cref="InvalidOperationException">No format given and none recognised.</exception>
    public static ChatFormatter FromDirectory(string directory, ChatTemplateKind? kind = null)
    {
        TokenizerConfig config = TokenizerConfig.Load(directory);
        ChatTemplateKind resolved = kind ?? Detect(config.ChatTemplate) ?? throw new InvalidOperationException(
            config.ChatTemplate is null
                ? $"'{directory}' has no chat_template; choose a chat format explicitly (llama2, llama3, chatml, zephyr, mistral)."
                : $"The chat_template in '{directory}' matches none of the known formats; choose one explicitly (llama2, llama3, chatml, zephyr, mistral).");
        return new ChatFormatter(resolved, config.BosToken, config.EosToken);
    }

    /// <inheritdoc/>
    public string Format(IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt)
    {
        var sb = new StringBuilder();
        foreach (ChatSegment s in Render(messages, addGenerationPrompt))
        {
            sb.Append(s.Text);
        }

        return sb.ToString();
    }

    /// <summary>Tokenizes a conversation: special tokens by id, text between them as one piece (as Hugging Face
    /// tokenizers split on special tokens), with a per-token mask of the assistant's replies (content and end of turn).</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="messages">The conversation.</param>
    /// <param name="addGenerationPrompt">Append the header that opens the assistant's reply.</param>
    /// <returns>Ids and assistant mask.</returns>
    /// <exception cref="InvalidOperationException">The tokenizer lacks a special token the format needs.</exception>
    public ChatEncoding Encode(ITextTokenizer tokenizer, IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var ids = new List<int>();
        var mask = new List<bool>();
        var run = new List<ChatSegment>();
        foreach (ChatSegment s in Render(messages, addGenerationPrompt))
        {
            if (!s.IsSpecialToken)
            {
                run.Add(s);
                continue;
            }

            EncodeRun(tokenizer, run, ids, mask);
            run.Clear();
            if (!tokenizer.TryGetTokenId(s.Text, out int id))
            {
                throw new InvalidOperationException($"The tokenizer has no token '{s.Text}', which the {Kind} chat format needs.");
            }

            ids.Add(id);
            mask.Add(s.IsAssistant);
        }

        EncodeRun(tokenizer, run, ids, mask);
        return new ChatEncoding([.. ids], [.. mask]);
    }

    /// <inheritdoc/>
    public ChatEncoding EncodeForTraining(ITextTokenizer tokenizer, IReadOnlyList<ChatTurn> messages) => Encode(tokenizer, messages, addGenerationPrompt: false);

    /// <summary>The conversation as segments: text, special tokens, and which parts the assistant wrote.</summary>
    /// <param name="messages">The conversation: an optional leading system message, then user/assistant turns.</param>
    /// <param name="addGenerationPrompt">Append the header that opens the assistant's reply.</param>
    /// <returns>The segments in order.</returns>
    /// <exception cref="ArgumentException">An unknown role, a system message after the first, or (LLaMA 2, Mistral) turns that do not alternate user/assistant.</exception>
    public IReadOnlyList<ChatSegment> Render(IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        for (int i = 0; i < messages.Count; i++)
        {
            string role = messages[i].Role;
            if (role is not ("system" or "user" or "assistant"))
            {
                throw new ArgumentException($"Message {i} has role '{role}'; use system, user or assistant.", nameof(messages));
            }

            if (role == "system" && i > 0)
            {
                throw new ArgumentException($"Message {i} is a system message; only the first message may be.", nameof(messages));
            }
        }

        var segments = new List<ChatSegment>();
        switch (Kind)
        {
            case ChatTemplateKind.Llama2:
                RenderInst(messages, segments, llama2: true);
                break;
            case ChatTemplateKind.Mistral:
                RenderInst(messages, segments, llama2: false);
                break;
            case ChatTemplateKind.Llama3:
                RenderLlama3(messages, addGenerationPrompt, segments);
                break;
            case ChatTemplateKind.ChatMl:
                RenderChatMl(messages, addGenerationPrompt, segments);
                break;
            case ChatTemplateKind.Zephyr:
                RenderZephyr(messages, addGenerationPrompt, segments);
                break;
            default:
                throw new InvalidOperationException($"Unknown chat format {Kind}.");
        }

        return segments;
    }

    private void RenderInst(IReadOnlyList<ChatTurn> messages, List<ChatSegment> segments, bool llama2)
    {
        // HF llama-2-chat: the system prompt is folded into the first user turn; every user turn opens with BOS.
        // Mistral instruct: one BOS at the start, no space between [/INST] and the answer.
        int first = messages.Count > 0 && messages[0].Role == "system" ? 1 : 0;
        string? system = first == 1 ? messages[0].Content : null;
        if (!llama2)
        {
            segments.Add(Special(BosToken));
        }

        for (int i = first; i < messages.Count; i++)
        {
            ChatTurn m = messages[i];
            bool expectUser = (i - first) % 2 == 0;
            if ((m.Role == "user") != expectUser)
            {
                throw new ArgumentException($"Message {i} is '{m.Role}'; the {Kind} format needs user and assistant turns to alternate, starting with user.", nameof(messages));
            }

            if (m.Role == "user")
            {
                string content = m.Content;
                if (i == first && system is not null)
                {
                    content = llama2 ? Llama2SystemOpen + system + Llama2SystemClose + content : system + "\n\n" + content;
                }

                if (llama2)
                {
                    content = content.Trim();
                }

                if (llama2)
                {
                    segments.Add(Special(BosToken));
                }

                segments.Add(Text("[INST] " + content + " [/INST]"));
            }
            else
            {
                segments.Add(Text(llama2 ? " " + m.Content.Trim() + " " : m.Content, assistant: true));
                segments.Add(Special(EosToken, assistant: true));
            }
        }
    }

    private void RenderLlama3(IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt, List<ChatSegment> segments)
    {
        segments.Add(Special(BosToken));
        foreach (ChatTurn m in messages)
        {
            bool assistant = m.Role == "assistant";
            segments.Add(Special("<|start_header_id|>"));
            segments.Add(Text(m.Role));
            segments.Add(Special("<|end_header_id|>"));
            segments.Add(Text("\n\n"));
            segments.Add(Text(m.Content.Trim(), assistant));
            segments.Add(Special("<|eot_id|>", assistant));
        }

        if (addGenerationPrompt)
        {
            segments.Add(Special("<|start_header_id|>"));
            segments.Add(Text("assistant"));
            segments.Add(Special("<|end_header_id|>"));
            segments.Add(Text("\n\n"));
        }
    }

    private static void RenderChatMl(IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt, List<ChatSegment> segments)
    {
        foreach (ChatTurn m in messages)
        {
            bool assistant = m.Role == "assistant";
            segments.Add(Special("<|im_start|>"));
            segments.Add(Text(m.Role + "\n"));
            segments.Add(Text(m.Content, assistant));
            segments.Add(Special("<|im_end|>", assistant));
            segments.Add(Text("\n"));
        }

        if (addGenerationPrompt)
        {
            segments.Add(Special("<|im_start|>"));
            segments.Add(Text("assistant\n"));
        }
    }

    private void RenderZephyr(IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt, List<ChatSegment> segments)
    {
        foreach (ChatTurn m in messages)
        {
            bool assistant = m.Role == "assistant";
            segments.Add(Text("<|" + m.Role + "|>\n"));
            segments.Add(Text(m.Content, assistant));
            segments.Add(Special(EosToken, assistant));
            segments.Add(Text("\n"));
        }

        if (addGenerationPrompt)
        {
            segments.Add(Text("<|assistant|>\n"));
        }
    }

    // Text between two special tokens is tokenized as one piece; the assistant mask is found by
    // tokenizing growing prefixes (a token that straddles a boundary counts as the later segment's).
    private static void EncodeRun(ITextTokenizer tokenizer, List<ChatSegment> run, List<int> ids, List<bool> mask)
    {
        if (run.Count == 0)
        {
            return;
        }

        int start = ids.Count;
        var text = new StringBuilder();
        int[] previous = [];
        foreach (ChatSegment s in run)
        {
            if (s.Text.Length == 0)
            {
                continue;
            }

            text.Append(s.Text);
            int[] current = tokenizer.Encode(text.ToString(), addBos: false);
            int common = 0;
            while (common < previous.Length && common < current.Length && previous[common] == current[common])
            {
                common++;
            }

            ids.RemoveRange(start + common, ids.Count - start - common);
            mask.RemoveRange(start + common, mask.Count - start - common);
            for (int i = common; i < current.Length; i++)
            {
                ids.Add(current[i]);
                mask.Add(s.IsAssistant);
            }

            previous = current;
        }
    }

    private static ChatSegment Special(string token, bool assistant = false) => new(token, true, assistant);

    private static ChatSegment Text(string text, bool assistant = false) => new(text, false, assistant);

    private static string[] Distinct(string a, string b) => a == b ? [a] : [a, b];
}
