namespace MoR.Model;

/// <summary>
/// Every device buffer one forward (and backward) of a [batch, seq] micro-batch needs, allocated once
/// for that shape and reused by every later step of the same shape (llm.c: activations carved out at
/// start-up; a steady-state step allocates nothing).
/// </summary>
/// <remarks>
/// Three layouts: training keeps each layer's saved activations; training with recomputation keeps only
/// each layer's input (the residual stream) and one shared set that backward refills layer by layer;
/// inference keeps one shared set and two residual buffers used in turn.
/// </remarks>
internal sealed class ModelActivations : IDisposable
{
    private readonly LlamaDims _dims;
    private readonly Tensor[] _residual;
    private readonly LayerActivations[] _layers;
    private LayerGradients? _grads;
    private Tensor? _dResidual;
    private Tensor? _dHidden;

    public ModelActivations(Device device, LlamaDims dims, int batch, int seq, ActivationMode mode, int chunkRows)
    {
        _dims = dims;
        Device = device;
        Batch = batch;
        Seq = seq;
        Mode = mode;
        long t = Tokens;
        ChunkRows = (int)Math.Min(chunkRows, t);
        Ids = Tensor.Empty(device, DType.I32, t);
        Positions = Tensor.Empty(device, DType.I32, t);
        int residuals = mode == ActivationMode.Inference ? 2 : dims.Layers + 1;
        _residual = new Tensor[residuals];
        for (int i = 0; i < residuals; i++)
        {
            _residual[i] = Tensor.Empty(device, DType.F32, t, dims.Hidden);
        }

        int sets = mode == ActivationMode.Training ? dims.Layers : 1;
        _layers = new LayerActivations[sets];
        for (int i = 0; i < sets; i++)
        {
            _layers[i] = new LayerActivations(device, dims, batch, seq);
        }

        Proj = Tensor.Empty(device, DType.F32, t, dims.Hidden);
        Hidden = Tensor.Empty(device, DType.F32, t, dims.Hidden);
        RstdFinal = Tensor.Empty(device, DType.F32, t);
        Logits = Tensor.Empty(device, DType.F32, ChunkRows, dims.Vocab);
        ChunkTargets = Tensor.Empty(device, DType.I32, ChunkRows);
        ChunkLosses = Tensor.Empty(device, DType.F32, ChunkRows);
        HostLosses = new float[ChunkRows];

        if (mode != ActivationMode.Inference)
        {
            // Position of row b·seq + t is t: every row of a batch starts at 0.
            int[] positions = new int[t];
            for (int i = 0; i < positions.Length; i++)
            {
                positions[i] = i % seq;
            }

            Ops.Upload(Positions, positions);
        }
    }

    public Device Device { get; }

    public int Batch { get; }

    public int Seq { get; }

    public long Tokens => (long)Batch * Seq;

    public ActivationMode Mode { get; }

    public int ChunkRows { get; }

    /// <summary>Input ids (I32 [T]).</summary>
    public Tensor Ids { get; }

    /// <summary>RoPE position of each row (I32 [T]).</summary>
    public Tensor Positions { get; }

    /// <summary>Scratch [T, d] for o_proj and down_proj outputs before they join the residual stream.</summary>
    public Tensor Proj { get; }

    /// <summary>The final norm's output [T, d]: the LM head's input.</summary>
    public Tensor Hidden { get; }

    public Tensor RstdFinal { get; }

    /// <summary>One chunk of logits [ChunkRows, vocab]; the cross-entropy turns it into dlogits in place.</summary>
    public Tensor Logits { get; }

    public Tensor ChunkTargets { get; }

    public Tensor ChunkLosses { get; }

    public float[] HostLosses { get; }

    /// <summary>The residual stream entering layer <paramref name="layer"/> (layer = Layers: the last layer's output).</summary>
    public Tensor Residual(int layer) => Mode == ActivationMode.Inference ? _residual[layer % 2] : _residual[layer];

    public LayerActivations Layer(int layer) => Mode == ActivationMode.Training ? _layers[layer] : _layers[0];

    /// <summary>Backward scratch, allocated on the first backward of this shape.</summary>
    public LayerGradients Gradients => _grads ??= new LayerGradients(Device, _dims, Tokens);

    /// <summary>dL/d(residual stream), [T, d], carried down through the layers.</summary>
    public Tensor DResidual => _dResidual ??= Tensor.Empty(Device, DType.F32, Tokens, _dims.Hidden);

    /// <summary>dL/d(final norm output), [T, d], filled chunk by chunk by the LM head.</summary>
    public Tensor DHidden => _dHidden ??= Tensor.Empty(Device, DType.F32, Tokens, _dims.Hidden);

    public bool Matches(int batch, int seq, ActivationMode mode) => Batch == batch && Seq == seq && Mode == mode;

    public void Dispose()
    {
        foreach (Tensor t in _residual)
        {
            t.Dispose();
        }

        foreach (LayerActivations a in _layers)
        {
            a.Dispose();
        }

        foreach (Tensor t in new[] { Ids, Positions, Proj, Hidden, RstdFinal, Logits, ChunkTargets, ChunkLosses })
        {
            t.Dispose();
        }

        _grads?.Dispose();
        _dResidual?.Dispose();
        _dHidden?.Dispose();
    }
}
