using MoR.Adapters;
using MoR.IO;
using MoR.Tests.Adapters;

namespace MoR.Tests.Model;

/// <summary>
/// A LLaMA forward pass in float64, written naively from the HF modeling code (embedding, RMSNorm,
/// RoPE with rotate_half, causal grouped-query softmax attention, SwiGLU MLP, tied or untied head,
/// cross-entropy), independent of the library's kernels. Weights are keyed by HF tensor name; adapters by
/// module path, with parameters in the library's own layout (so a finite difference perturbs exactly the
/// entry whose analytic gradient the model reports).
/// </summary>
internal sealed class ReferenceLlama(LlamaConfig config, Dictionary<string, double[]> weights)
{
    public LlamaConfig Config { get; } = config;

    public Dictionary<string, double[]> Weights { get; } = weights;

    public Dictionary<string, ReferenceAdapter> Adapters { get; } = new(StringComparer.Ordinal);

    public double[] Logits(int batch, int seq, int[] ids)
    {
        LlamaConfig c = Config;
        int d = c.HiddenSize, t = batch * seq, hq = c.NumAttentionHeads, hkv = c.NumKeyValueHeads, hd = c.HeadDim, ff = c.IntermediateSize;
        double[] emb = Weights["model.embed_tokens.weight"];
        double[] x = new double[t * d];
        for (int n = 0; n < t; n++) Array.Copy(emb, ids[n] * d, x, n * d, d);
        float[] invFreq = c.RopeInverseFrequencies();
        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            string p = $"model.layers.{l}.";
            double[] xn = RmsNorm(x, Weights[p + "input_layernorm.weight"], t, d, c.RmsNormEps);
            double[] q = Linear(p + "self_attn.q_proj", xn, t, d, hq * hd);
            double[] k = Linear(p + "self_attn.k_proj", xn, t, d, hkv * hd);
            double[] v = Linear(p + "self_attn.v_proj", xn, t, d, hkv * hd);
            Rope(q, t, seq, hq, hd, invFreq);
            Rope(k, t, seq, hkv, hd, invFreq);
            double[] att = Attention(q, k, v, batch, seq, hq, hkv, hd);
            double[] o = Linear(p + "self_attn.o_proj", att, t, hq * hd, d);
            for (int i = 0; i < x.Length; i++) x[i] += o[i];
            double[] xn2 = RmsNorm(x, Weights[p + "post_attention_layernorm.weight"], t, d, c.RmsNormEps);
            double[] g = Linear(p + "mlp.gate_proj", xn2, t, d, ff);
            double[] u = Linear(p + "mlp.up_proj", xn2, t, d, ff);
            double[] a = new double[t * ff];
            for (int i = 0; i < a.Length; i++) a[i] = g[i] / (1 + Math.Exp(-g[i])) * u[i];
            double[] down = Linear(p + "mlp.down_proj", a, t, ff, d);
            for (int i = 0; i < x.Length; i++) x[i] += down[i];
        }

        double[] h = RmsNorm(x, Weights["model.norm.weight"], t, d, c.RmsNormEps);
        double[] head = c.TieWordEmbeddings ? emb : Weights["lm_head.weight"];
        return AdapterReference.Base(head, h, t, d, c.VocabSize);
    }

    /// <summary>Σ over non-ignored targets of −log softmax(logits)[target].</summary>
    public double Loss(int batch, int seq, int[] ids, int[] targets)
    {
        int v = Config.VocabSize;
        double[] logits = Logits(batch, seq, ids);
        double sum = 0;
        for (int n = 0; n < batch * seq; n++)
        {
            if (targets[n] == -100) continue;
            double mx = double.NegativeInfinity;
            for (int j = 0; j < v; j++) mx = Math.Max(mx, logits[(n * v) + j]);
            double z = 0;
            for (int j = 0; j < v; j++) z += Math.Exp(logits[(n * v) + j] - mx);
            sum += mx + Math.Log(z) - logits[(n * v) + targets[n]];
        }

        return sum;
    }

    private double[] Linear(string path, double[] x, int t, int din, int dout)
    {
        double[] w = Weights[path + ".weight"];
        return Adapters.TryGetValue(path, out ReferenceAdapter? adapter)
            ? adapter.Apply(w, x, t, din, dout)
            : AdapterReference.Base(w, x, t, din, dout);
    }

    private static double[] RmsNorm(double[] x, double[] w, int t, int d, double eps)
    {
        double[] y = new double[x.Length];
        for (int n = 0; n < t; n++)
        {
            double ms = 0;
            for (int i = 0; i < d; i++) ms += x[(n * d) + i] * x[(n * d) + i];
            double r = 1 / Math.Sqrt((ms / d) + eps);
            for (int i = 0; i < d; i++) y[(n * d) + i] = x[(n * d) + i] * r * w[i];
        }

        return y;
    }

    // HF apply_rotary_pos_emb: x·cos + rotate_half(x)·sin, rotate_half(x) = [−x2, x1]; angle = pos·inv_freq in float32.
    private static void Rope(double[] x, int t, int seq, int heads, int hd, float[] invFreq)
    {
        int half = hd / 2;
        for (int n = 0; n < t; n++)
        {
            int pos = n % seq;
            for (int h = 0; h < heads; h++)
            {
                int o = (n * heads * hd) + (h * hd);
                for (int i = 0; i < half; i++)
                {
                    double angle = (float)pos * invFreq[i];
                    double cos = Math.Cos(angle), sin = Math.Sin(angle);
                    double x1 = x[o + i], x2 = x[o + i + half];
                    x[o + i] = (x1 * cos) - (x2 * sin);
                    x[o + i + half] = (x2 * cos) + (x1 * sin);
                }
            }
        }
    }

    private static double[] Attention(double[] q, double[] k, double[] v, int batch, int seq, int hq, int hkv, int hd)
    {
        double[] o = new double[batch * seq * hq * hd];
        double scale = 1 / Math.Sqrt(hd);
        int group = hq / hkv;
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < hq; h++)
                for (int i = 0; i < seq; i++)
                {
                    int kvh = h / group;
                    double[] s = new double[i + 1];
                    for (int j = 0; j <= i; j++)
                    {
                        double dot = 0;
                        for (int e = 0; e < hd; e++)
                            dot += q[((((b * seq) + i) * hq) + h) * hd + e] * k[((((b * seq) + j) * hkv) + kvh) * hd + e];
                        s[j] = dot * scale;
                    }

                    double mx = s.Max(), z = 0;
                    for (int j = 0; j <= i; j++) z += s[j] = Math.Exp(s[j] - mx);
                    for (int j = 0; j <= i; j++)
                        for (int e = 0; e < hd; e++)
                            o[((((b * seq) + i) * hq) + h) * hd + e] += s[j] / z * v[((((b * seq) + j) * hkv) + kvh) * hd + e];
                }

        return o;
    }
}

/// <summary>One adapter's parameters in the library's layout (<see cref="ILinearAdapter.Parameters"/> order) and its float64 forward.</summary>
internal sealed class ReferenceAdapter(AdapterConfig config, double[][] native)
{
    public AdapterConfig Config { get; } = config;

    /// <summary>The parameters exactly as the adapter holds them: FD perturbs these.</summary>
    public double[][] Native { get; } = native;

    /// <summary>DoRA's detached row norm, fixed at the unperturbed parameters (PEFT treats it as a constant).</summary>
    public double[]? FixedNorm { get; set; }

    public double[] Apply(double[] w, double[] x, int t, int din, int dout)
    {
        int r = Config.Rank, n = Config is RoutedAdapterConfig routed ? routed.Experts : 1;
        double s = Config.Scale;
        switch (Config)
        {
            case LoRAConfig:
                return AdapterReference.LoRA(Native, w, x, t, din, dout, r, s);
            case DoRAConfig:
                FixedNorm ??= AdapterReference.DoRANorm(Native[0], Native[1], w, din, dout, r, s);
                return AdapterReference.DoRA(Native, FixedNorm, w, x, t, din, dout, r, s);
            case MoRConfig:
                {
                    double[] ag = Native[0];
                    double[][] p = [ag[..(r * din)], ag[(r * din)..], Native[1], Native[2], Native[3]];
                    return AdapterReference.MoR(p, w, x, t, din, dout, r, n, s);
                }
            case MoELoRAConfig:
                {
                    double[] ag = Native[0], bCat = Native[1];
                    int nr = n * r;
                    double[] b = new double[n * dout * r];
                    for (int i = 0; i < n; i++)
                        for (int j = 0; j < dout; j++)
                            for (int k = 0; k < r; k++) b[(((i * dout) + j) * r) + k] = bCat[(j * nr) + (i * r) + k];
                    return AdapterReference.MoELoRA([ag[..(nr * din)], ag[(nr * din)..], b], w, x, t, din, dout, r, n, s);
                }
            case MELoRAConfig m:
                return AdapterReference.MELoRA(Native[0], Native[1], w, x, t, din, dout, r, m.Blocks, s);
            default:
                throw new Xunit.Sdk.XunitException($"No float64 reference for {Config.Method.DisplayName}: add one to ReferenceAdapter.Apply.");
        }
    }
}
