using System.Text.Json;
using MoR.Templates;
using MoR.Tests.IO;
using MoR.Tests.Templates;
using MoR.Tokenization;

namespace MoR.Tests.Tokenization;

/// <summary>
/// A model's own chat template as the chat format: the assistant-token mask for training by each strategy (generation
/// blocks, prefix difference, turn by turn), tokens straddling a boundary, stop tokens, and which strategy the real
/// templates of tests/MoR.Tests/Templates/Golden get. Expected masks are written out as the text the assistant wrote.
/// </summary>
public sealed class ChatTemplateTests
{
    private const string ChatMlWithGeneration =
        "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' }}{% if m.role == 'assistant' %}{% generation %}{{ m.content + '<|im_end|>' }}{% endgeneration %}"
        + "{% else %}{{ m.content + '<|im_end|>' }}{% endif %}{{ '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private static readonly ChatTurn[] Conversation =
        [ChatTurn.System("Be brief."), ChatTurn.User("Hi"), ChatTurn.Assistant("Hello!"), ChatTurn.User("Bye"), ChatTurn.Assistant("Bye now.")];

    [Fact]
    public void GenerationBlocksGiveTheMask()
    {
        var chat = new ChatTemplate(JinjaTemplate.Parse(ChatMlWithGeneration, "t"), null, null);
        Assert.Equal(AssistantMaskStrategy.GenerationBlocks, chat.ChooseMaskStrategy(Conversation));
        ChatEncoding e = chat.EncodeForTraining(ByteTokenizer.Instance, Conversation);
        Assert.Equal(Bytes(chat.Format(Conversation, addGenerationPrompt: false)), e.Ids);
        Assert.Equal(Bytes("Hello!<|im_end|>Bye now.<|im_end|>"), Masked(e));
    }

    [Fact]
    public void PrefixDifferenceGivesTheMask()
    {
        using var dir = new TempDirectory();
        ByteTokenizer.Save(dir.Path);
        IChatFormat format = ChatFormats.FromDirectory(dir.Path);
        var chat = Assert.IsType<ChatTemplate>(format);
        Assert.Equal(AssistantMaskStrategy.PrefixDifference, chat.ChooseMaskStrategy(Conversation));

        // The same text as the built-in ChatML format; the reply runs to the end of its turn, newline included.
        ChatEncoding e = chat.EncodeForTraining(ByteTokenizer.Instance, Conversation);
        Assert.Equal(new ChatFormatter(ChatTemplateKind.ChatMl).Encode(ByteTokenizer.Instance, Conversation, addGenerationPrompt: false).Ids, e.Ids);
        Assert.Equal(Bytes("Hello!<|im_end|>\nBye now.<|im_end|>\n"), Masked(e));
    }

    [Fact]
    public void TurnByTurnWhenTheTemplateRewritesEarlierTurns()
    {
        // Qwen3 drops the reasoning of replies before the last user message, so rendering up to the first reply is not
        // a prefix of the whole: each reply is trained in the context the model sees when it writes it.
        ChatTemplate chat = Golden("qwen3");
        ChatTurn[] conversation =
        [
            ChatTurn.User("3 * 7?"), ChatTurn.Assistant("<think>\nThree sevens.\n</think>\n\n21"),
            ChatTurn.User("4 * 5?"), ChatTurn.Assistant("<think>\nFour fives.\n</think>\n\n20"),
        ];
        Assert.Equal(AssistantMaskStrategy.TurnByTurn, chat.ChooseMaskStrategy(conversation));
        ChatEncoding e = chat.EncodeForTraining(ByteTokenizer.Instance, conversation);
        const string Prompt1 = "<|im_start|>user\n3 * 7?<|im_end|>\n<|im_start|>assistant\n";
        const string Reply1 = "<think>\nThree sevens.\n</think>\n\n21<|im_end|>\n";
        const string Prompt2 = "<|im_start|>user\n3 * 7?<|im_end|>\n<|im_start|>assistant\n21<|im_end|>\n<|im_start|>user\n4 * 5?<|im_end|>\n<|im_start|>assistant\n";
        const string Reply2 = "<think>\nFour fives.\n</think>\n\n20<|im_end|>\n";
        Assert.Equal(Bytes(Prompt1 + Reply1 + Prompt2 + Reply2), e.Ids);
        Assert.Equal(Bytes(Reply1 + Reply2), Masked(e));
    }

    [Fact]
    public void ATokenStraddlingTheStartBelongsToTheReplyOneStraddlingTheEndDoesNot()
    {
        using var dir = new TempDirectory();
        TokenizerFixtures.WriteByteLevelBpe(dir.Path);
        ITextTokenizer bpe = TokenizerLoader.FromDirectory(dir.Path);
        var starts = new ChatTemplate(JinjaTemplate.Parse("{{ messages[0].content }}{% generation %}{{ messages[1].content }}{% endgeneration %}", "t"), null, null);
        var ends = new ChatTemplate(JinjaTemplate.Parse("{% generation %}{{ messages[0].content }}{% endgeneration %}{{ messages[1].content }}", "t"), null, null);

        // "hello world" is two tokens, "hello" (259) and "Ġworld" (264).
        ChatEncoding split = starts.EncodeForTraining(bpe, [ChatTurn.User("hel"), ChatTurn.Assistant("lo world")]);
        Assert.Equal([259, 264], split.Ids);
        Assert.Equal([true, true], split.IsAssistant);
        split = ends.EncodeForTraining(bpe, [ChatTurn.Assistant("hello wor"), ChatTurn.User("ld")]);
        Assert.Equal([259, 264], split.Ids);
        Assert.Equal([true, false], split.IsAssistant);
    }

    [Theory]
    [InlineData("llama3", AssistantMaskStrategy.TurnByTurn)] // its template opens an assistant header even without the generation prompt
    [InlineData("llama3_1", AssistantMaskStrategy.PrefixDifference)]
    [InlineData("qwen3", AssistantMaskStrategy.TurnByTurn)] // the last reply gets an empty <think> block, earlier ones none
    [InlineData("gemma3", AssistantMaskStrategy.PrefixDifference)]
    [InlineData("deepseek_v3", AssistantMaskStrategy.PrefixDifference)]
    [InlineData("gpt-oss-20b", AssistantMaskStrategy.TurnByTurn)] // only the last reply ends with <|return|>
    [InlineData("qwen2.5-7b-instruct", AssistantMaskStrategy.PrefixDifference)]
    [InlineData("mistral-7b-instruct-v0.3", AssistantMaskStrategy.PrefixDifference)]
    [InlineData("phi-3.5-mini-instruct", AssistantMaskStrategy.TurnByTurn)] // without the generation prompt it appends the EOS token
    [InlineData("smollm2-135m-instruct", AssistantMaskStrategy.PrefixDifference)]
    [InlineData("smollm3-3b", AssistantMaskStrategy.GenerationBlocks)]
    public void RealTemplatesGetTheStrategyTheirRenderingAllows(string key, AssistantMaskStrategy expected)
    {
        ChatTemplate chat = Golden(key);
        Assert.Equal(expected, chat.ChooseMaskStrategy(Conversation));

        // Whatever the strategy, every reply's text is in the masked tokens and no user text is.
        ChatEncoding e = chat.EncodeForTraining(ByteTokenizer.Instance, Conversation);
        string masked = System.Text.Encoding.UTF8.GetString([.. Masked(e).Where(id => id < 256).Select(id => (byte)id)]);
        Assert.Contains("Hello!", masked, StringComparison.Ordinal);
        Assert.Contains("Bye now.", masked, StringComparison.Ordinal);
        Assert.DoesNotContain("Hi", masked.Replace("Hello", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("qwen2.5-7b-instruct", new[] { "<|im_end|>" })]
    [InlineData("gemma3", new[] { "<end_of_turn>" })]
    [InlineData("llama3_1", new[] { "<|eot_id|>" })] // its eos_token is the end-of-turn marker itself
    [InlineData("smollm2-135m-instruct", new[] { "<|im_end|>" })]
    [InlineData("phi-3.5-mini-instruct", new[] { "<|endoftext|>", "<|end|>" })]
    [InlineData("mistral-7b-instruct-v0.3", new[] { "</s>" })]
    public void StopTokensAreTheEosTokenAndTheEndOfTurnMarker(string key, string[] expected) =>
        Assert.Equal(expected, Golden(key).StopTokens);

    [Fact]
    public void ABrokenTemplateIsOneLineNamingTheFile()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tokenizer_config.json"), """{"chat_template": "{% for m in messages %}\n{{ m.content }\n{% endfor %}", "eos_token": "</s>"}""");
        var e = Assert.Throws<TemplateException>(() => ChatFormats.FromDirectory(dir.Path));
        Assert.StartsWith($"chat template '{dir.File("tokenizer_config.json")}', line 2:", e.Message, StringComparison.Ordinal);

        // A built-in format named explicitly does not need the template.
        Assert.IsType<ChatFormatter>(ChatFormats.FromDirectory(dir.Path, "chatml"));
    }

    [Fact]
    public void ChatTemplateJinjaTakesPrecedenceOverTokenizerConfig()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tokenizer_config.json"), """{"chat_template": "config: {{ messages[0].content }}", "eos_token": "</s>"}""");
        Assert.Equal("config: hi", ChatFormats.FromDirectory(dir.Path).Format([ChatTurn.User("hi")], addGenerationPrompt: false));
        File.WriteAllText(dir.File("chat_template.jinja"), "file: {{ messages[0].content }}\n");
        IChatFormat format = ChatFormats.FromDirectory(dir.Path);
        Assert.Equal("file: hi", format.Format([ChatTurn.User("hi")], addGenerationPrompt: false));
        Assert.Equal($"'{dir.File("chat_template.jinja")}'", format.Name);
    }

    [Fact]
    public void WithoutATemplateABuiltInFormatMustBeNamed()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tokenizer_config.json"), """{"eos_token": "</s>"}""");
        var e = Assert.Throws<InvalidOperationException>(() => ChatFormats.FromDirectory(dir.Path));
        Assert.Contains("--chat-format", e.Message, StringComparison.Ordinal);
        Assert.Equal(ChatTemplateKind.Zephyr, Assert.IsType<ChatFormatter>(ChatFormats.FromDirectory(dir.Path, "zephyr")).Kind);
    }

    private static ChatTemplate Golden(string key)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TemplateGoldenTests.GoldenFolder, "renderings.json")));
        JsonElement entry = doc.RootElement.GetProperty("templates").EnumerateArray().Single(t => t.GetProperty("key").GetString() == key);
        string source = File.ReadAllText(Path.Combine(TemplateGoldenTests.GoldenFolder, entry.GetProperty("file").GetString()!));
        return new ChatTemplate(JinjaTemplate.Parse(source, key), entry.GetProperty("bos_token").GetString(), entry.GetProperty("eos_token").GetString(), () => TemplateGoldenTests.Now);
    }

    private static int[] Bytes(string text) => ByteTokenizer.Instance.Encode(text, addBos: false);

    private static int[] Masked(ChatEncoding e) => [.. e.Ids.Where((_, i) => e.IsAssistant[i])];
}
