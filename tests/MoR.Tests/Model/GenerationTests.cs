using Microsoft.Extensions.AI;
using MoR.Data;
using MoR.IO;
using MoR.Model;
using MoR.Numerics;
using MoR.Tokenization;

namespace MoR.Tests.Model;

/// <summary>KV-cached generation, the IChatClient over it, and JSONL evaluation.</summary>
public sealed class GenerationTests
{
    private static LlamaConfig ByteConfig() => new()
    {
        HiddenSize = 32,
        IntermediateSize = 48,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = ByteTokenizer.Instance.VocabSize,
        EosTokenIds = [ByteTokenizer.Eos],
        BosTokenId = ByteTokenizer.Bos,
        InitializerRange = 0.3,
    };

    [Fact]
    public void GreedyGenerationFollowsTheArgmaxOfFullForward()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        int[] prompt = [1, 7, 9];
        GenerationResult result = new Generator(model).Generate(prompt, new GenerationOptions { MaxNewTokens = 6, StopAtEos = false });
        Assert.Equal(GenerationFinishReason.Length, result.FinishReason);
        Assert.Equal(6, result.Tokens.Length);
        var sequence = prompt.ToList();
        foreach (int token in result.Tokens)
        {
            float[] logits = model.ComputeLogits(1, sequence.Count, sequence.ToArray());
            ReadOnlySpan<float> last = logits.AsSpan((sequence.Count - 1) * 50, 50);
            Assert.Equal(last.IndexOf(Max(last)), token);
            sequence.Add(token);
        }

        // A stop token ends generation and is not returned.
        GenerationResult stopped = new Generator(model).Generate(prompt, new GenerationOptions { MaxNewTokens = 6, StopAtEos = false, StopTokenIds = [result.Tokens[2]] });
        int firstStop = Array.IndexOf(result.Tokens, result.Tokens[2]);
        Assert.Equal(result.Tokens[..firstStop], stopped.Tokens);
        Assert.Equal(GenerationFinishReason.Stop, stopped.FinishReason);
    }

    [Fact]
    public void SamplingIsSeededAndRespectsTopKAndTopP()
    {
        using LlamaModel model = LlamaModel.CreateRandom(TinyCheckpoint.TinyConfig(), Device.Cpu, 2, trainable: false);
        var options = new GenerationOptions { MaxNewTokens = 8, Temperature = 1.5f, Seed = 42, StopAtEos = false };
        var generator = new Generator(model);
        Assert.Equal(generator.Generate([1, 2], options).Tokens, generator.Generate([1, 2], options).Tokens);

        float[] logits = [0f, 3f, 1f, 2.5f, -1f, 2.9f];
        var rng = new SeededRandom(1);
        var topK = new HashSet<int>();
        var topP = new HashSet<int>();
        for (int i = 0; i < 300; i++)
        {
            topK.Add(Generator.Sample(logits, new GenerationOptions { Temperature = 5f, TopK = 3 }, rng));
            topP.Add(Generator.Sample(logits, new GenerationOptions { Temperature = 1f, TopP = 0.01f }, rng));
        }

        Assert.Equal([1, 3, 5], topK.Order());
        Assert.Equal([1], topP);
        Assert.Equal(1, Generator.Sample(logits, new GenerationOptions(), rng));
    }

    [Fact]
    public async Task TheChatClientAnswersWithTheGreedyContinuationOfTheFormattedPrompt()
    {
        using LlamaModel model = LlamaModel.CreateRandom(ByteConfig(), Device.Cpu, 7, trainable: false);
        var formatter = new ChatFormatter(ChatTemplateKind.ChatMl);
        using var client = new MoRChatClient(model, ByteTokenizer.Instance, formatter, new GenerationOptions { MaxNewTokens = 12 });
        ChatMessage[] messages = [new(ChatRole.System, "Be brief."), new(ChatRole.User, "Hi")];

        ChatResponse response = await client.GetResponseAsync(messages);
        int[] prompt = formatter.Encode(ByteTokenizer.Instance, [ChatTurn.System("Be brief."), ChatTurn.User("Hi")], addGenerationPrompt: true).Ids;
        GenerationResult direct = new Generator(model).Generate(prompt, new GenerationOptions
        {
            MaxNewTokens = 12,
            StopTokenIds = [ByteTokenizer.Eos, ByteTokenizer.ImEnd],
        });
        Assert.Equal(ByteTokenizer.Instance.Decode(direct.Tokens), response.Text);
        Assert.Equal(prompt.Length, response.Usage!.InputTokenCount);
        Assert.Equal(direct.Tokens.Length, response.Usage.OutputTokenCount);

        string streamed = string.Concat(await client.GetStreamingResponseAsync(messages).Select(u => u.Text).ToListAsync());
        Assert.Equal(response.Text, streamed);
        Assert.NotNull(client.GetService<ChatClientMetadata>());
    }

    [Fact]
    public void EvaluatorScoresPreTokenisedAndTextLinesAndNamesABadLine()
    {
        using LlamaModel model = LlamaModel.CreateRandom(ByteConfig(), Device.Cpu, 3, trainable: false);
        string[] lines =
        [
            """{"input_ids": [257, 72, 105, 33], "labels": [-100, -100, 105, 33]}""",
            "",
            """{"text": "Hi!"}""",
        ];
        EvaluationResult result = Evaluator.Evaluate(model, lines, ByteTokenizer.Instance);
        LossResult a = model.Evaluate(new TokenBatch(1, 4, [257, 72, 105, 33], [-100, 105, 33, -100]));
        LossResult b = model.Evaluate(TokenBatch.NextTokenPrediction([257, 72, 105, 33]));
        Assert.Equal(2, result.Sequences);
        Assert.Equal(2 + 3, result.Tokens);
        Assert.Equal((a.LossSum + b.LossSum) / 5, result.MeanNll, 1e-6);
        Assert.Equal(Math.Exp(result.MeanNll), result.Perplexity, 1e-9);
        Assert.StartsWith("{\"tokens\": 5, \"mean_nll\": ", result.ToJson(), StringComparison.Ordinal);

        var e = Assert.Throws<FormatException>(() => Evaluator.Evaluate(model, [lines[0], """{"input_ids": [1, "x"]}"""]));
        Assert.Contains("line 2", e.Message);
        e = Assert.Throws<FormatException>(() => Evaluator.Evaluate(model, [lines[2]]));
        Assert.Contains("tokenizer", e.Message);
    }

    private static float Max(ReadOnlySpan<float> values)
    {
        float m = float.NegativeInfinity;
        foreach (float v in values) m = Math.Max(m, v);
        return m;
    }
}
