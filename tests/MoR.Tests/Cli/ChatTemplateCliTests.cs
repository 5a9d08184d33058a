using System.Text.Json;
using System.Text.Json.Nodes;
using MoR.Cli;
using MoR.Model;
using MoR.Tests.IO;
using MoR.Tokenization;

namespace MoR.Tests.Cli;

/// <summary>
/// The model's own chat template where the CLI takes chat input (<c>mor generate --chat</c>, <c>mor chat</c>,
/// <c>mor finetune</c> <c>messages</c> records), <c>--chat-format</c> overriding it, and template errors as one line.
/// </summary>
public sealed class ChatTemplateCliTests
{
    [Fact]
    public void Generate_chat_renders_the_prompt_with_the_models_template()
    {
        using var dir = new TempDirectory();
        string model = CliTests.TinyModel(dir.Path);

        // A template of our own, so that the prompt tokens show it was rendered (and not the built-in ChatML).
        SetTemplate(model, "{% for m in messages %}[{{ m.role | upper }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<|im_start|>{% endif %}");
        (int code, string stdout, string stderr) = CliRunner.Run("generate", "--model", model, "--prompt", "hi", "--chat", "--max-new-tokens", "3", "--json");
        Assert.True(code == ExitCodes.Ok, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        int[] rendered = ByteTokenizer.Instance.Encode("[USER] hi\n<|im_start|>", addBos: false);
        Assert.Equal(rendered.Length, doc.RootElement.GetProperty("prompt_tokens").GetInt32());

        using (LlamaModel m = LlamaModel.Load(model, Device.Cpu))
        {
            GenerationResult direct = new Generator(m).Generate(rendered, new GenerationOptions { MaxNewTokens = 3 });
            Assert.Equal(ByteTokenizer.Instance.Decode(direct.Tokens), doc.RootElement.GetProperty("completion").GetString());
        }

        // --chat-format picks a built-in format instead: ChatML's prompt.
        (code, stdout, stderr) = CliRunner.Run("generate", "--model", model, "--prompt", "hi", "--chat-format", "chatml", "--max-new-tokens", "1", "--json");
        Assert.True(code == ExitCodes.Ok, stderr);
        using JsonDocument chatMl = JsonDocument.Parse(stdout);
        Assert.Equal(ByteTokenizer.Instance.Encode("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", addBos: false).Length, chatMl.RootElement.GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public void A_template_that_does_not_parse_is_one_line_naming_the_file_and_line()
    {
        using var dir = new TempDirectory();
        string model = CliTests.TinyModel(dir.Path);
        SetTemplate(model, "{% for m in messages %}\n{{ m.content }}\n{% endfr %}");
        (int code, string stdout, string stderr) = CliRunner.RunWithInput("hello\n", "chat", "--model", model, "--max-new-tokens", "2");
        Assert.Equal(ExitCodes.RuntimeError, code);
        Assert.Equal(string.Empty, stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"mor: error: chat template '{Path.Combine(model, "tokenizer_config.json")}', line 3: unknown statement 'endfr'", line);

        // A built-in format named explicitly does not need the broken template.
        (code, _, stderr) = CliRunner.RunWithInput("hello\n", "chat", "--model", model, "--max-new-tokens", "2", "--chat-format", "chatml");
        Assert.True(code == ExitCodes.Ok, stderr);
    }

    [Fact]
    public void Finetune_reports_a_record_the_template_refuses_with_its_line()
    {
        using var dir = new TempDirectory();
        string model = CliTests.TinyModel(dir.Path);
        SetTemplate(model, "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
            + "{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}");
        string data = dir.File("chat.jsonl");
        File.WriteAllText(data, """
            {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
            {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}

            """);
        (int code, _, string err) = CliRunner.Run("finetune", "--model", model, "--data", data, "--output", dir.File("o"), "--steps", "1");
        Assert.Equal(ExitCodes.RuntimeError, code);
        Assert.Contains($"{data}:2:", err, StringComparison.Ordinal);
        Assert.Contains("raised an error: System role not supported", err, StringComparison.Ordinal);
    }

    private static void SetTemplate(string model, string template)
    {
        string path = Path.Combine(model, TokenizerConfig.FileName);
        JsonObject config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config["chat_template"] = template;
        File.WriteAllText(path, config.ToJsonString());
    }
}
