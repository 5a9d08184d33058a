using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using MoR.Tokenization;

namespace MoR.Model;

/// <summary>
/// <see cref="IChatClient"/> (Microsoft.Extensions.AI) over a local model: messages are rendered with the
/// model's chat format, generated with a KV cache, and decoded back to text. Requests are served one at a
/// time (the model is not thread-safe). Text content only: tools and images are not supported.
/// </summary>
public sealed class MoRChatClient : IChatClient
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly int[] _stopIds;

    /// <summary>Creates a client; the model, tokenizer and formatter are not owned (disposing the client leaves them alone).</summary>
    /// <param name="model">The model, with any adapters attached.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="formatter">The model's chat format (its own template, or a built-in format).</param>
    /// <param name="defaults">Generation settings used where <see cref="ChatOptions"/> says nothing.</param>
    /// <param name="modelId">Reported as the model id.</param>
    public MoRChatClient(LlamaModel model, ITextTokenizer tokenizer, IChatFormat formatter, GenerationOptions? defaults = null, string? modelId = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        Formatter = formatter ?? throw new ArgumentNullException(nameof(formatter));
        Defaults = defaults ?? new GenerationOptions();
        ModelId = modelId ?? (model.SourcePath is { } p ? Path.GetFileName(p) : "mor-local");
        var stops = new HashSet<int> { tokenizer.EosId };
        foreach (string token in formatter.StopTokens)
        {
            if (tokenizer.TryGetTokenId(token, out int id))
            {
                stops.Add(id);
            }
        }

        _stopIds = [.. stops];
    }

    /// <summary>The model.</summary>
    public LlamaModel Model { get; }

    /// <summary>The tokenizer.</summary>
    public ITextTokenizer Tokenizer { get; }

    /// <summary>The chat format.</summary>
    public IChatFormat Formatter { get; }

    /// <summary>Generation defaults.</summary>
    public GenerationOptions Defaults { get; }

    /// <summary>The model id reported in responses.</summary>
    public string ModelId { get; }

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var text = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        UsageDetails? usage = null;
        await foreach (ChatResponseUpdate update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            text.Append(update.Text);
            finish = update.FinishReason ?? finish;
            usage = update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details ?? usage;
        }

        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text.ToString()))
        {
            FinishReason = finish,
            ModelId = ModelId,
            Usage = usage,
            CreatedAt = DateTimeOffset.UtcNow,
        };
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        List<ChatTurn> turns = ToTurns(messages, options);
        int[] prompt = Formatter.Encode(Tokenizer, turns, addGenerationPrompt: true).Ids;
        GenerationOptions generation = Merge(options);
        string[] stopSequences = [.. options?.StopSequences ?? []];
        int holdBack = stopSequences.Length == 0 ? 0 : stopSequences.Max(s => s.Length) - 1;
        string responseId = Guid.NewGuid().ToString("N");

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var generated = new List<int>();
            int emitted = 0;
            ChatFinishReason finish = ChatFinishReason.Length;
            foreach (int token in new Generator(Model).Stream(prompt, generation, cancellationToken))
            {
                generated.Add(token);
                string text = Tokenizer.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(generated));
                if (FindStop(text, stopSequences) is int cut)
                {
                    if (cut > emitted)
                    {
                        yield return Update(responseId, text[emitted..cut]);
                    }

                    emitted = int.MaxValue;
                    finish = ChatFinishReason.Stop;
                    break;
                }

                // Hold back a possible start of a stop sequence, and an incomplete UTF-8 character (U+FFFD).
                int safe = text.Length - holdBack;
                while (safe > emitted && text[safe - 1] == '\uFFFD')
                {
                    safe--;
                }

                if (safe > emitted)
                {
                    yield return Update(responseId, text[emitted..safe]);
                    emitted = safe;
                }

                await Task.Yield(); // let the consumer run between tokens
            }

            if (emitted != int.MaxValue)
            {
                string rest = Tokenizer.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(generated));
                if (rest.Length > emitted)
                {
                    yield return Update(responseId, rest[emitted..]);
                }

                finish = generated.Count >= generation.MaxNewTokens ? ChatFinishReason.Length : ChatFinishReason.Stop;
            }

            var usage = new UsageDetails { InputTokenCount = prompt.Length, OutputTokenCount = generated.Count, TotalTokenCount = prompt.Length + generated.Count };
            yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(usage)])
            {
                FinishReason = finish,
                ModelId = ModelId,
                ResponseId = responseId,
            };
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(ChatClientMetadata))
        {
            return new ChatClientMetadata("MoRNative", null, ModelId);
        }

        return serviceType.IsInstanceOfType(this) ? this : serviceType.IsInstanceOfType(Model) ? Model : null;
    }

    /// <summary>Releases the request gate; the model, tokenizer and formatter are left to their owner.</summary>
    public void Dispose() => _gate.Dispose();

    private ChatResponseUpdate Update(string responseId, string text) =>
        new(ChatRole.Assistant, text) { ModelId = ModelId, ResponseId = responseId };

    private GenerationOptions Merge(ChatOptions? options) => Defaults with
    {
        MaxNewTokens = options?.MaxOutputTokens ?? Defaults.MaxNewTokens,
        Temperature = options?.Temperature ?? Defaults.Temperature,
        TopP = options?.TopP ?? Defaults.TopP,
        TopK = options?.TopK ?? Defaults.TopK,
        Seed = options?.Seed is long seed ? unchecked((ulong)seed) : Defaults.Seed,
        StopTokenIds = [.. Defaults.StopTokenIds, .. _stopIds],
    };

    private static List<ChatTurn> ToTurns(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var turns = new List<ChatTurn>();
        if (!string.IsNullOrEmpty(options?.Instructions))
        {
            turns.Add(ChatTurn.System(options.Instructions));
        }

        foreach (ChatMessage m in messages)
        {
            string role = m.Role == ChatRole.System ? "system"
                : m.Role == ChatRole.User ? "user"
                : m.Role == ChatRole.Assistant ? "assistant"
                : throw new NotSupportedException($"Chat role '{m.Role}' is not supported (system, user, assistant).");
            turns.Add(new ChatTurn(role, m.Text));
        }

        return turns;
    }

    private static int? FindStop(string text, string[] stops)
    {
        int? first = null;
        foreach (string s in stops)
        {
            int at = s.Length == 0 ? -1 : text.IndexOf(s, StringComparison.Ordinal);
            if (at >= 0 && (first is null || at < first))
            {
                first = at;
            }
        }

        return first;
    }
}
