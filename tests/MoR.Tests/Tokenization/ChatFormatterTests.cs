using MoR.Tests.IO;
using MoR.Tokenization;

namespace MoR.Tests.Tokenization;

/// <summary>Each format renders as the reference Jinja template does; encoding masks exactly the assistant's replies.</summary>
public sealed class ChatFormatterTests
{
    private static readonly ChatTurn[] Conversation =
        [ChatTurn.System("You are nice."), ChatTurn.User("Hi"), ChatTurn.Assistant("Hello!"), ChatTurn.User("Bye")];

    [Fact]
    public void Llama2()
    {
        var chat = new ChatFormatter(ChatTemplateKind.Llama2);
        Assert.Equal(
            "<s>[INST] <<SYS>>\nYou are nice.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]",
            chat.Format(Conversation, addGenerationPrompt: true));
        Assert.Equal(["</s>"], chat.StopTokens);
    }

    [Fact]
    public void Llama3()
    {
        var chat = new ChatFormatter(ChatTemplateKind.Llama3);
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are nice.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n",
            chat.Format(Conversation, addGenerationPrompt: true));
        Assert.Equal(["<|eot_id|>"], chat.StopTokens);
        Assert.Equal(["<|eot_id|>", "<|end_of_text|>"], new ChatFormatter(ChatTemplateKind.Llama3, eosToken: "<|end_of_text|>").StopTokens);
    }

    [Fact]
    public void ChatMl()
    {
        var chat = new ChatFormatter(ChatTemplateKind.ChatMl);
        Assert.Equal(
            "<|im_start|>system\nYou are nice.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
            + "<|im_start|>user\nBye<|im_end|>\n",
            chat.Format(Conversation, addGenerationPrompt: false));
        Assert.EndsWith("<|im_start|>assistant\n", chat.Format(Conversation, addGenerationPrompt: true), StringComparison.Ordinal);
    }

    [Fact]
    public void Zephyr()
    {
        var chat = new ChatFormatter(ChatTemplateKind.Zephyr);
        Assert.Equal(
            "<|system|>\nYou are nice.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n<|user|>\nBye</s>\n<|assistant|>\n",
            chat.Format(Conversation, addGenerationPrompt: true));
    }

    [Fact]
    public void Mistral()
    {
        var chat = new ChatFormatter(ChatTemplateKind.Mistral);
        Assert.Equal(
            "<s>[INST] You are nice.\n\nHi [/INST]Hello!</s>[INST] Bye [/INST]",
            chat.Format(Conversation, addGenerationPrompt: true));
    }

    [Theory]
    [InlineData("{{ '<|start_header_id|>' + message['role'] }}", ChatTemplateKind.Llama3)]
    [InlineData("{{'<|im_start|>' + message['role'] + '\\n'}}", ChatTemplateKind.ChatMl)]
    [InlineData("{{ '<|user|>\\n' + message['content'] + eos_token }}", ChatTemplateKind.Zephyr)]
    [InlineData("{{ bos_token + '[INST] ' + '<<SYS>>\\n' }}", ChatTemplateKind.Llama2)]
    [InlineData("{{ bos_token }}{{ '[INST] ' + message['content'] + ' [/INST]' }}", ChatTemplateKind.Mistral)]
    public void DetectsFormatFromTemplate(string template, ChatTemplateKind expected)
    {
        Assert.Equal(expected, ChatFormatter.Detect(template));
    }

    [Fact]
    public void UnknownTemplateNeedsExplicitFormat()
    {
        Assert.Null(ChatFormatter.Detect("{{ message['content'] }}"));
        Assert.Null(ChatFormatter.Detect(null));
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tokenizer_config.json"), """{"chat_template": "{{ message['content'] }}"}""");
        Assert.Throws<InvalidOperationException>(() => ChatFormatter.FromDirectory(dir.Path));
        Assert.Equal(ChatTemplateKind.Zephyr, ChatFormatter.FromDirectory(dir.Path, ChatTemplateKind.Zephyr).Kind);
    }

    [Fact]
    public void NamedTemplateListPicksDefault()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tokenizer_config.json"), """
            {"eos_token": "<|im_end|>", "chat_template": [{"name": "tool_use", "template": "[INST]"}, {"name": "default", "template": "<|im_start|>"}]}
            """);
        Assert.Equal(ChatTemplateKind.ChatMl, ChatFormatter.FromDirectory(dir.Path).Kind);
    }

    [Theory]
    [InlineData("llama2", ChatTemplateKind.Llama2)]
    [InlineData("Llama3", ChatTemplateKind.Llama3)]
    [InlineData("chatml", ChatTemplateKind.ChatMl)]
    [InlineData("ZEPHYR", ChatTemplateKind.Zephyr)]
    [InlineData("mistral", ChatTemplateKind.Mistral)]
    public void ParsesNames(string name, ChatTemplateKind kind) => Assert.Equal(kind, ChatFormatter.ParseKind(name));

    [Fact]
    public void RejectsBadConversations()
    {
        var chat = new ChatFormatter(ChatTemplateKind.Llama2);
        Assert.Throws<ArgumentException>(() => chat.Format([ChatTurn.User("a"), ChatTurn.User("b")], false));
        Assert.Throws<ArgumentException>(() => chat.Format([ChatTurn.User("a"), ChatTurn.System("b")], false));
        Assert.Throws<ArgumentException>(() => new ChatFormatter(ChatTemplateKind.ChatMl).Format([new ChatTurn("tool", "x")], false));
        Assert.Throws<ArgumentException>(() => ChatFormatter.ParseKind("vicuna"));
    }

    [Fact]
    public void EncodeWithByteTokenizerMasksAssistantReply()
    {
        var chat = new ChatFormatter(ChatTemplateKind.ChatMl);
        ChatEncoding enc = chat.Encode(ByteTokenizer.Instance, [ChatTurn.User("Hi"), ChatTurn.Assistant("Yo")], addGenerationPrompt: false);
        Assert.Equal(ByteTokenizer.Instance.Encode(chat.Format([ChatTurn.User("Hi"), ChatTurn.Assistant("Yo")], false), false), enc.Ids);

        // Masked: "Yo" and its <|im_end|>; not the trailing newline.
        int[] masked = enc.Ids.Where((_, i) => enc.IsAssistant[i]).ToArray();
        Assert.Equal(['Y', 'o', ByteTokenizer.ImEnd], masked);
        Assert.False(enc.IsAssistant[^1]);
    }

    [Fact]
    public void EncodeWithBpeTokenizerUsesSpecialIds()
    {
        using var dir = new TempDirectory();
        TokenizerFixtures.WriteByteLevelBpe(dir.Path);
        ITextTokenizer tok = TokenizerLoader.FromDirectory(dir.Path);
        ChatFormatter chat = ChatFormatter.FromDirectory(dir.Path);
        Assert.Equal(ChatTemplateKind.Llama3, chat.Kind);
        Assert.Equal("<|begin_of_text|>", chat.BosToken);

        ChatEncoding enc = chat.Encode(tok, [ChatTurn.User("hi"), ChatTurn.Assistant("hello")], addGenerationPrompt: false);
        Assert.Equal(tok.Encode(chat.Format([ChatTurn.User("hi"), ChatTurn.Assistant("hello")], false), addBos: false), enc.Ids);
        Assert.Equal(300, enc.Ids[0]);
        Assert.Equal(303, enc.Ids[1]);
        int[] masked = enc.Ids.Where((_, i) => enc.IsAssistant[i]).ToArray();
        Assert.Equal([259, 302], masked);
    }

    [Fact]
    public void EncodeNeedsTheFormatsSpecialTokens()
    {
        var chat = new ChatFormatter(ChatTemplateKind.Llama3);
        Assert.Throws<InvalidOperationException>(() => chat.Encode(ByteTokenizer.Instance, [ChatTurn.User("x")], true));
    }
}
