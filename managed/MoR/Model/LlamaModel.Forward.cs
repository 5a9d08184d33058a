using MoR.Adapters;
using MoR.Data;
using MoR.Modules;

namespace MoR.Model;

public sealed partial class LlamaModel
{
    /// <summary>
    /// Forward and backward of one micro-batch: accumulates (+=) into every trainable gradient the gradient
    /// of Σ_t loss_t · <paramref name="gradScale"/> over the non-ignored targets (pass 1 / tokens of the
    /// whole optimizer step for a mean loss over gradient accumulation).
    /// </summary>
    /// <param name="batch">Inputs and already-shifted targets.</param>
    /// <param name="gradScale">Multiplies every gradient; 0 skips the backward pass.</param>
    /// <param name="pass">What the adapters do in this pass (dropout key, router balance weight); null: neither.</param>
    /// <returns>The summed loss and the number of targets (not scaled).</returns>
    /// <exception cref="ArgumentException">The batch is inconsistent or has an id outside the vocabulary.</exception>
    public LossResult ForwardBackward(TokenBatch batch, float gradScale, AdapterPass? pass = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(batch);
        batch.Validate(Config.VocabSize);
        if (!float.IsFinite(gradScale))
        {
            throw new ArgumentOutOfRangeException(nameof(gradScale), gradScale, "The gradient scale must be finite.");
        }

        NotifyParametersChanged();
        bool backward = gradScale != 0;
        ModelActivations acts = backward
            ? TrainingActivations(batch.BatchSize, batch.SeqLen)
            : InferenceActivations(batch.BatchSize, batch.SeqLen);
        // Dropout and the balance term belong to training passes: a forward-only pass ignores them.
        AdapterPass adapters = backward ? pass ?? AdapterPass.Inference : AdapterPass.Inference;
        AttentionPlan plan = Forward(acts, batch.InputIds, adapters);
        LossResult loss = HeadLoss(acts, batch.Targets, gradScale, backward);
        if (backward)
        {
            Backward(acts, plan, adapters);
        }

        return loss;
    }

    /// <summary>The summed loss of a batch, forward only (no gradient touched).</summary>
    /// <param name="batch">Inputs and already-shifted targets.</param>
    /// <returns>The summed loss and the number of targets.</returns>
    public LossResult Evaluate(TokenBatch batch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(batch);
        batch.Validate(Config.VocabSize);
        NotifyParametersChanged();
        ModelActivations acts = InferenceActivations(batch.BatchSize, batch.SeqLen);
        Forward(acts, batch.InputIds, AdapterPass.Inference);
        return HeadLoss(acts, batch.Targets, 0f, backward: false);
    }

    /// <summary>
    /// Full logits [batchSize × seqLen, vocab] (row-major) for every position: for tests, tools and scoring
    /// short inputs. This is the one path that materialises all logits on the host.
    /// </summary>
    /// <param name="batchSize">Rows.</param>
    /// <param name="seqLen">Tokens per row.</param>
    /// <param name="inputIds">batchSize × seqLen ids.</param>
    /// <returns>The logits.</returns>
    public float[] ComputeLogits(int batchSize, int seqLen, ReadOnlySpan<int> inputIds)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int[] ids = inputIds.ToArray();
        new TokenBatch(batchSize, seqLen, ids, new int[ids.Length]).Validate(Config.VocabSize);
        NotifyParametersChanged();
        ModelActivations acts = InferenceActivations(batchSize, seqLen);
        Forward(acts, ids, AdapterPass.Inference);
        long t = acts.Tokens, d = _dims.Hidden, v = _dims.Vocab;
        float[] logits = new float[t * v];
        for (long t0 = 0; t0 < t; t0 += acts.ChunkRows)
        {
            long c = Math.Min(acts.ChunkRows, t - t0);
            Ops.Gemm(false, true, c, v, d, 1f, acts.Hidden, t0 * d, d, HeadWeight, 0, d, 0f, acts.Logits, 0, v);
            Ops.Download(acts.Logits, 0, logits.AsSpan((int)(t0 * v), (int)(c * v)));
        }

        return logits;
    }

    private AttentionPlan Forward(ModelActivations acts, ReadOnlySpan<int> inputIds, AdapterPass pass)
    {
        long t = acts.Tokens;
        Ops.Upload(acts.Ids, inputIds);
        _embedding.Forward(t, acts.Ids, acts.Residual(0));
        var plan = new AttentionPlan(acts.Batch, acts.Seq, 0, acts.Positions, _invFreq, null);
        if (acts.Mode == ActivationMode.Inference)
        {
            // Inference sets share one position buffer with decoding, which writes its own positions.
            int[] positions = new int[t];
            for (int i = 0; i < positions.Length; i++)
            {
                positions[i] = i % acts.Seq;
            }

            Ops.Upload(acts.Positions, positions);
        }

        for (int l = 0; l < _layers.Length; l++)
        {
            _layers[l].Forward(acts.Layer(l), acts.Residual(l), acts.Residual(l + 1), acts.Proj, plan, pass);
        }

        _finalNorm.Forward(t, acts.Residual(_layers.Length), acts.Hidden, acts.RstdFinal);
        return plan;
    }

    /// <summary>
    /// The chunked LM head + cross-entropy: per chunk of rows, logits = h·Wᵀ, the fused cross-entropy turns
    /// them in place into gradScale·(softmax − onehot), then dh = dlogits·W and (when trainable) dW += dlogitsᵀ·h.
    /// </summary>
    private LossResult HeadLoss(ModelActivations acts, int[] targets, float gradScale, bool backward)
    {
        long t = acts.Tokens, d = _dims.Hidden, v = _dims.Vocab;
        Tensor weight = HeadWeight;
        Tensor? weightGrad = backward ? HeadGrad : null;
        double lossSum = 0;
        long count = 0;
        for (int t0 = 0; t0 < t; t0 += acts.ChunkRows)
        {
            int c = (int)Math.Min(acts.ChunkRows, t - t0);
            ReadOnlySpan<int> chunkTargets = targets.AsSpan(t0, c);
            int valid = 0;
            foreach (int target in chunkTargets)
            {
                valid += target == TokenBatch.IgnoreIndex ? 0 : 1;
            }

            if (valid == 0)
            {
                // Masked rows (prompts, padding) contribute nothing: skip their GEMMs.
                if (backward)
                {
                    FillRows(acts.DHidden, t0 * d, c * d);
                }

                continue;
            }

            Ops.Gemm(false, true, c, v, d, 1f, acts.Hidden, t0 * d, d, weight, 0, d, 0f, acts.Logits, 0, v);
            Ops.Upload(acts.ChunkTargets, chunkTargets);
            TransformerOps.CrossEntropy(c, v, acts.Logits, acts.ChunkTargets, acts.ChunkLosses, backward ? gradScale : 0f);
            Span<float> losses = acts.HostLosses.AsSpan(0, c);
            Ops.Download(acts.ChunkLosses, 0, losses);
            foreach (float loss in losses)
            {
                lossSum += loss;
            }

            count += valid;
            if (backward)
            {
                Ops.Gemm(false, false, c, d, v, 1f, acts.Logits, 0, v, weight, 0, d, 0f, acts.DHidden, t0 * d, d);
                if (weightGrad is not null)
                {
                    Ops.Gemm(true, false, v, d, c, 1f, acts.Logits, 0, v, acts.Hidden, t0 * d, d, 1f, weightGrad, 0, d);
                }
            }
        }

        return new LossResult(lossSum, count);
    }

    private void Backward(ModelActivations acts, in AttentionPlan plan, AdapterPass pass)
    {
        long t = acts.Tokens;
        Tensor dRes = acts.DResidual;
        Ops.Zero(dRes);
        _finalNorm.Backward(t, acts.Residual(_layers.Length), acts.RstdFinal, acts.DHidden, dRes);
        LayerGradients grads = acts.Gradients;
        int lowest = LowestTrainableLayer();
        for (int l = _layers.Length - 1; l >= lowest; l--)
        {
            if (acts.Mode == ActivationMode.TrainingRecompute)
            {
                // Refill the shared activations (and the adapters' saved state) for this layer; the output
                // it rewrites is bit-identical to the one the forward produced.
                _layers[l].Forward(acts.Layer(l), acts.Residual(l), acts.Residual(l + 1), acts.Proj, plan, pass);
            }

            _layers[l].Backward(acts.Layer(l), grads, acts.Residual(l), dRes, plan, pass);
        }

        if (_embedding.Parameter is not null)
        {
            _embedding.Backward(t, acts.Ids, dRes);
        }
    }

    // Below the lowest layer holding a trainable tensor nothing needs a gradient: backward stops there.
    private int LowestTrainableLayer()
    {
        if (FullFineTuning)
        {
            return 0;
        }

        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].Projections.Any(p => p.Adapter is not null) || _layers[l].BaseParameters().Any())
            {
                return l;
            }
        }

        return _layers.Length;
    }

    private static void FillRows(Tensor tensor, long offset, long count) => Ops.Fill(tensor, offset, count, 0);

    private ModelActivations TrainingActivations(int batch, int seq)
    {
        ActivationMode mode = RecomputeActivations ? ActivationMode.TrainingRecompute : ActivationMode.Training;
        if (_training is null || !_training.Matches(batch, seq, mode) || _training.ChunkRows != Math.Min(LogitsChunkTokens, (long)batch * seq))
        {
            _training?.Dispose();
            _training = null;
            _training = new ModelActivations(Device, _dims, batch, seq, mode, LogitsChunkTokens);
        }

        return _training;
    }

    // Keeps the two most recent inference shapes: generation alternates a prompt shape with single tokens.
    private ModelActivations InferenceActivations(int batch, int seq)
    {
        int found = _inference.FindIndex(a => a.Matches(batch, seq, ActivationMode.Inference) && a.ChunkRows == Math.Min(LogitsChunkTokens, (long)batch * seq));
        if (found >= 0)
        {
            ModelActivations hit = _inference[found];
            _inference.RemoveAt(found);
            _inference.Insert(0, hit);
            return hit;
        }

        if (_inference.Count >= 2)
        {
            _inference[^1].Dispose();
            _inference.RemoveAt(_inference.Count - 1);
        }

        var created = new ModelActivations(Device, _dims, batch, seq, ActivationMode.Inference, LogitsChunkTokens);
        _inference.Insert(0, created);
        return created;
    }
}
