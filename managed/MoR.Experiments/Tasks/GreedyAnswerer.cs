using MoR.Model;
using MoR.Tokenization;

namespace MoR.Tasks;

/// <summary>
/// Answers suite prompts by greedy decoding with the model's KV cache, stopping at EOS or a newline
/// (the answer is one line). Only what exact-match scoring needs; not a general generator.
/// </summary>
public static class GreedyAnswerer
{
    /// <summary>The greedy completion of <paramref name="prompt"/> (BOS + prompt), at most <paramref name="maxTokens"/> tokens.</summary>
    public static string Answer(LlamaModel model, ITextTokenizer tokenizer, string prompt, int maxTokens = 16)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        int[] ids = tokenizer.Encode(prompt, addBos: true);
        using KvCache cache = model.NewCache(ids.Length + maxTokens + 1);
        float[] logits = model.Decode(cache, ids);
        var output = new List<int>();
        for (int i = 0; i < maxTokens; i++)
        {
            int next = ArgMax(logits);
            if (next == tokenizer.EosId)
            {
                break;
            }

            output.Add(next);
            if (tokenizer.Decode([next]).Contains('\n', StringComparison.Ordinal))
            {
                break;
            }

            logits = model.Decode(cache, [next]);
        }

        return tokenizer.Decode([.. output]);
    }

    /// <summary>Exact-match accuracy of the model on <paramref name="samples"/>.</summary>
    public static double Accuracy(LlamaModel model, ITextTokenizer tokenizer, IReadOnlyList<TaskSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        return ExactMatch.Accuracy(samples, [.. samples.Select(s => Answer(model, tokenizer, s.Prompt))]);
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
