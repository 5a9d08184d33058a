using MoR.Numerics;

namespace MoR.Model;

/// <summary>
/// Autoregressive generation with a KV cache: the prompt is decoded in one pass, then one token per step.
/// Greedy, or sampling with temperature, top-k and top-p from a seeded generator.
/// </summary>
/// <param name="model">The model (not owned).</param>
public sealed class Generator(LlamaModel model)
{
    /// <summary>The model.</summary>
    public LlamaModel Model { get; } = model ?? throw new ArgumentNullException(nameof(model));

    /// <summary>Generates until a stop token or <see cref="GenerationOptions.MaxNewTokens"/>.</summary>
    /// <param name="prompt">At least one id.</param>
    /// <param name="options">Sampling and stopping.</param>
    /// <param name="cancellationToken">Checked between tokens.</param>
    /// <returns>The new tokens and why generation ended.</returns>
    public GenerationResult Generate(IReadOnlyList<int> prompt, GenerationOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var tokens = new List<int>();
        foreach (int token in Stream(prompt, options, cancellationToken))
        {
            tokens.Add(token);
        }

        return new GenerationResult([.. tokens], tokens.Count >= options.MaxNewTokens ? GenerationFinishReason.Length : GenerationFinishReason.Stop);
    }

    /// <summary>Yields each new token as soon as it is chosen (the stop token is not yielded). Stopping the enumeration stops generation.</summary>
    /// <param name="prompt">At least one id.</param>
    /// <param name="options">Sampling and stopping.</param>
    /// <param name="cancellationToken">Checked between tokens.</param>
    /// <returns>The tokens, lazily.</returns>
    public IEnumerable<int> Stream(IReadOnlyList<int> prompt, GenerationOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (prompt.Count == 0)
        {
            throw new ArgumentException("Generation needs a prompt of at least one token (e.g. BOS).", nameof(prompt));
        }

        return StreamCore([.. prompt], options, cancellationToken);
    }

    /// <summary>Chooses the next token from logits: argmax when greedy, else temperature → top-k → top-p → a seeded draw.</summary>
    /// <param name="logits">[vocab] logits (not modified).</param>
    /// <param name="options">The sampling settings.</param>
    /// <param name="rng">The random source.</param>
    /// <returns>The chosen id.</returns>
    public static int Sample(ReadOnlySpan<float> logits, GenerationOptions options, SeededRandom rng)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rng);
        if (options.Temperature <= 0 || options.TopK == 1)
        {
            return ArgMax(logits);
        }

        // Sort once by logit: top-k and top-p are prefixes of this order.
        int[] order = new int[logits.Length];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        float[] keys = logits.ToArray();
        Array.Sort(keys, order, Comparer<float>.Create((a, b) => b.CompareTo(a)));
        int keep = options.TopK > 0 ? Math.Min(options.TopK, order.Length) : order.Length;
        double[] p = new double[keep];
        double max = keys[0] / options.Temperature, sum = 0;
        for (int i = 0; i < keep; i++)
        {
            sum += p[i] = Math.Exp((keys[i] / options.Temperature) - max);
        }

        if (options.TopP < 1)
        {
            double cumulative = 0;
            int nucleus = 0;
            while (nucleus < keep && cumulative < options.TopP * sum)
            {
                cumulative += p[nucleus++];
            }

            keep = Math.Max(nucleus, 1);
            sum = cumulative > 0 ? cumulative : p[0];
        }

        double u = rng.NextDouble() * sum;
        for (int i = 0; i < keep; i++)
        {
            u -= p[i];
            if (u < 0)
            {
                return order[i];
            }
        }

        return order[keep - 1];
    }

    private IEnumerable<int> StreamCore(int[] prompt, GenerationOptions options, CancellationToken cancellationToken)
    {
        if (options.MaxNewTokens == 0)
        {
            yield break;
        }

        var stops = new HashSet<int>(options.StopTokenIds);
        if (options.StopAtEos)
        {
            stops.UnionWith(Model.Config.EosTokenIds);
        }

        var rng = new SeededRandom(options.Seed);
        using KvCache cache = Model.NewCache(prompt.Length + options.MaxNewTokens);
        float[] logits = Model.Decode(cache, prompt);
        for (int n = 0; n < options.MaxNewTokens; n++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int next = Sample(logits, options, rng);
            if (stops.Contains(next))
            {
                yield break;
            }

            yield return next;
            if (n + 1 < options.MaxNewTokens)
            {
                logits = Model.Decode(cache, [next]);
            }
        }
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }
}
