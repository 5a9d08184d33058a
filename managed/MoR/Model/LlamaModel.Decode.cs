using MoR.Adapters;

namespace MoR.Model;

public sealed partial class LlamaModel
{
    /// <summary>
    /// Appends <paramref name="tokens"/> to the sequence in <paramref name="cache"/> (a prompt, or one sampled
    /// token at a time) and returns the logits of the last one: the distribution of the next token.
    /// Only the new tokens are computed; earlier keys and values come from the cache.
    /// </summary>
    /// <param name="cache">A cache from this model's <see cref="NewCache"/>.</param>
    /// <param name="tokens">At least one id; the cache must have room for all of them.</param>
    /// <returns>[vocab] logits of the last position.</returns>
    /// <exception cref="ArgumentException">The cache belongs to another model, is full, or an id is outside the vocabulary.</exception>
    public float[] Decode(KvCache cache, ReadOnlySpan<int> tokens)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(cache);
        ObjectDisposedException.ThrowIf(cache.IsDisposed, cache);
        if (!ReferenceEquals(cache.Owner, this))
        {
            throw new ArgumentException("The KV cache was created by another model.", nameof(cache));
        }

        if (tokens.IsEmpty)
        {
            throw new ArgumentException("Decode needs at least one token.", nameof(tokens));
        }

        if (cache.Length + tokens.Length > cache.Capacity)
        {
            throw new ArgumentException(
                $"The KV cache holds {cache.Length} of {cache.Capacity} tokens; {tokens.Length} more do not fit.", nameof(tokens));
        }

        int[] positions = new int[tokens.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)Config.VocabSize)
            {
                throw new ArgumentException($"Token {tokens[i]} at {i} is outside the vocabulary [0, {Config.VocabSize}).", nameof(tokens));
            }

            positions[i] = cache.Length + i;
        }

        int n = tokens.Length;
        long d = _dims.Hidden, v = _dims.Vocab;
        ModelActivations acts = InferenceActivations(1, n);
        Ops.Upload(acts.Ids, tokens);
        Ops.Upload(acts.Positions, positions);
        _embedding.Forward(n, acts.Ids, acts.Residual(0));
        var plan = new AttentionPlan(1, n, cache.Length, acts.Positions, _invFreq, cache);
        for (int l = 0; l < _layers.Length; l++)
        {
            _layers[l].Forward(acts.Layer(l), acts.Residual(l), acts.Residual(l + 1), acts.Proj, plan, AdapterPass.Inference);
        }

        _finalNorm.Forward(n, acts.Residual(_layers.Length), acts.Hidden, acts.RstdFinal);
        Ops.Gemm(false, true, 1, v, d, 1f, acts.Hidden, (n - 1) * d, d, HeadWeight, 0, d, 0f, acts.Logits, 0, v);
        float[] logits = new float[v];
        Ops.Download(acts.Logits, 0, logits);
        cache.Length += n;
        return logits;
    }
}
