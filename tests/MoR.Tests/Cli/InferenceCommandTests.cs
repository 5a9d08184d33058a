using System.Text.Json;
using Microsoft.Extensions.AI;
using MoR.Tests.Adapters;
using MoR.Adapters;
using MoR.Cli;
using MoR.Model;
using MoR.Tests.IO;
using MoR.Tests.Model;
using MoR.Tokenization;

namespace MoR.Tests.Cli;

/// <summary><c>mor eval</c>, <c>mor generate</c>, <c>mor chat</c> end to end, in-process, against the library calls they wrap.</summary>
[Collection("Quickstart")]
public sealed class InferenceCommandTests
{
    [Fact]
    public void Eval_prints_tokens_mean_nll_and_ppl_with_and_without_an_adapter()
    {
        using var dir = new TempDirectory();
        string model = CliTests.TinyModel(dir.Path);
        string adapter = TinyAdapter(model, dir.File("adapter"));
        string data = dir.File("eval.jsonl");
        File.WriteAllLines(data, ["{\"text\":\"copy: abc\\nabc\"}", string.Empty, "{\"input_ids\":[257,65,66,67,68],\"labels\":[-100,-100,66,67,68]}"]);

        (int code, string stdout, string stderr) = CliRunner.Run("eval", "--model", model, "--data", data, "--json");
        Assert.True(code == ExitCodes.Ok, stderr);
        using JsonDocument plain = JsonDocument.Parse(stdout);  // exactly one JSON object
        Assert.Equal(["tokens", "mean_nll", "ppl"], plain.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(13 + 3, plain.RootElement.GetProperty("tokens").GetInt64());  // BOS + 13 bytes -> 13 targets; 3 labelled
        double nll = plain.RootElement.GetProperty("mean_nll").GetDouble();
        Assert.Equal(Math.Exp(nll), plain.RootElement.GetProperty("ppl").GetDouble(), 1e-9);

        (code, stdout, stderr) = CliRunner.Run("eval", "--model", model, "--adapter", adapter, "--data", data, "--json");
        Assert.True(code == ExitCodes.Ok, stderr);
        using JsonDocument adapted = JsonDocument.Parse(stdout);
        using (LlamaModel m = LlamaModel.Load(model, Device.Cpu))
        {
            AdapterFolder.Load(adapter, m);
            EvaluationResult direct = Evaluator.EvaluateJsonl(m, data, ByteTokenizer.Instance);
            Assert.Equal(direct.MeanNll, adapted.RootElement.GetProperty("mean_nll").GetDouble(), 1e-12);
            Assert.NotEqual(nll, direct.MeanNll);
        }

        (code, stdout, _) = CliRunner.Run("eval", "--model", model, "--data", data);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.StartsWith("2 sequences, 16 tokens: mean NLL ", stdout, StringComparison.Ordinal);
        Assert.Contains("perplexity", stdout, StringComparison.Ordinal);

        File.AppendAllText(data, "{\"oops\":1}\n");
        (code, _, stderr) = CliRunner.Run("eval", "--model", model, "--data", data);
        Assert.Equal(ExitCodes.RuntimeError, code);
        Assert.Contains("line 4", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_matches_the_generator_and_is_reproducible_with_a_seed()
    {
        using var dir = new TempDirectory();
        string model = CliTests.TinyModel(dir.Path);
        string adapter = TinyAdapter(model, dir.File("adapter"));
        (int code, string stdout, string stderr) = CliRunner.Run("generate", "--model", model, "--adapter", adapter, "--prompt", "copy: ab\n", "--max-new-tokens", "6", "--json");
        Assert.True(code == ExitCodes.Ok, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        string completion = doc.RootElement.GetProperty("completion").GetString()!;
        using (LlamaModel m = LlamaModel.Load(model, Device.Cpu))
        {
            AdapterFolder.Load(adapter, m);
            int[] prompt = ByteTokenizer.Instance.Encode("copy: ab\n", addBos: true);
            GenerationResult direct = new Generator(m).Generate(prompt, new GenerationOptions { MaxNewTokens = 6 });
            Assert.Equal(ByteTokenizer.Instance.Decode(direct.Tokens), completion);
            Assert.Equal(direct.Tokens.Length, doc.RootElement.GetProperty("new_tokens").GetInt32());
            Assert.Equal(prompt.Length, doc.RootElement.GetProperty("prompt_tokens").GetInt32());
        }

        string[] sampled = ["generate", "--model", model, "--prompt", "hi", "--max-new-tokens", "8", "--temperature", "1.5", "--top-k", "20", "--top-p", "0.9", "--seed", "42"];
        (int c1, string first, _) = CliRunner.Run(sampled);
        (int c2, string second, _) = CliRunner.Run(sampled);
        Assert.Equal((ExitCodes.Ok, ExitCodes.Ok), (c1, c2));
        Assert.Equal(first, second);
        Assert.EndsWith("\n", first, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_answers_each_stdin_line_with_the_chat_template_and_exits_at_end_of_input()
    {
        using var dir = new TempDirectory();
        string model = CliTests.TinyModel(dir.Path);
        (int code, string stdout, string stderr) = CliRunner.RunWithInput(
            "hello\n\nsecond message\n/reset\nthird\n", "chat", "--model", model, "--system", "be brief", "--max-new-tokens", "5");
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Contains("the chat template of", stderr, StringComparison.Ordinal);
        Assert.Contains("conversation cleared", stderr, StringComparison.Ordinal);

        // The same conversation through MoRChatClient: history kept across lines, cleared by /reset.
        using LlamaModel m = LlamaModel.Load(model, Device.Cpu);
        using var client = new MoRChatClient(m, ByteTokenizer.Instance, ChatFormats.FromDirectory(model), new GenerationOptions { MaxNewTokens = 5 });
        var history = new List<ChatMessage> { new(ChatRole.System, "be brief") };
        var expected = new System.Text.StringBuilder();
        foreach (string line in (string[])["hello", "second message", "RESET", "third"])
        {
            if (line == "RESET")
            {
                history.RemoveRange(1, history.Count - 1);
                continue;
            }

            history.Add(new ChatMessage(ChatRole.User, line));
            string reply = (await client.GetResponseAsync(history)).Text;
            history.Add(new ChatMessage(ChatRole.Assistant, reply));
            expected.Append(reply).Append(Environment.NewLine);
        }

        Assert.Equal(expected.ToString(), stdout);

        // No input at all: nothing on stdout, exit 0.
        (code, stdout, _) = CliRunner.RunWithInput(string.Empty, "chat", "--model", model, "--max-new-tokens", "2");
        Assert.Equal((ExitCodes.Ok, string.Empty), (code, stdout));
    }

    [Theory]
    [InlineData("eval", "--model", "MODEL")]
    [InlineData("eval", "--model", "MODEL", "--data", "missing.jsonl")]
    [InlineData("eval", "--model", "nowhere", "--data", "DATA")]
    [InlineData("eval", "--model", "MODEL", "--data", "DATA", "--max-length", "1")]
    [InlineData("eval", "--model", "MODEL", "--data", "DATA", "--adapter", "nowhere")]
    [InlineData("generate", "--model", "MODEL")]
    [InlineData("generate", "--model", "MODEL", "--prompt", "x", "--top-p", "0")]
    [InlineData("generate", "--model", "MODEL", "--prompt", "x", "--temperature", "-1")]
    [InlineData("generate", "--model", "MODEL", "--prompt", "x", "--max-new-tokens", "-3")]
    [InlineData("generate", "--model", "MODEL", "--prompt", "x", "--top-k", "many")]
    [InlineData("generate", "--model", "MODEL", "--prompt", "x", "--max-new-tokens", "100000")]
    [InlineData("chat", "--model", "MODEL", "--chat-format", "alpaca")]
    [InlineData("chat", "--prompt", "x")]
    [InlineData("merge", "--model", "MODEL")]
    public void Bad_flags_exit_2_with_one_line(params string[] args)
    {
        using var dir = new TempDirectory();
        string model = CliTests.TinyModel(dir.Path);
        string data = dir.File("d.jsonl");
        File.WriteAllText(data, "{\"text\":\"a\"}\n");
        string[] resolved = [.. args.Select(a => a == "MODEL" ? model : a == "DATA" ? data : a == "missing.jsonl" ? dir.File(a) : a)];
        (int code, string stdout, string stderr) = CliRunner.Run(resolved);
        Assert.True(code == ExitCodes.UsageError, $"{code}: {stderr}");
        Assert.Equal(string.Empty, stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("mor: usage error: ", line, StringComparison.Ordinal);
    }

    private static string TinyAdapter(string model, string directory)
    {
        using LlamaModel m = LlamaModel.Load(model, Device.Cpu);
        ulong seed = 1;
        foreach (string p in AdapterInjector.Attach(m, TestAdapters.Config("mor", rank: 2, experts: 2, targets: ["up_proj", "v_proj"])))
        {
            ModelTestData.Randomize(m.Linears[p].Adapter!, seed++);
        }

        AdapterFolder.Save(directory, m);
        return directory;
    }
}
