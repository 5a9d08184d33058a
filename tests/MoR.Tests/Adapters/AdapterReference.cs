namespace MoR.Tests.Adapters;

/// <summary>
/// Float64 references for the four adapters, written per token from MOR.md §1 and §4 (sums over experts
/// and ranks spelled out), independent of the library's rank-expanded kernels. Forward only: gradients
/// are checked against central finite differences of these functions.
/// </summary>
internal static class AdapterReference
{
    public static double[] Base(double[] w, double[] x, int t, int din, int dout)
    {
        double[] y = new double[t * dout];
        for (int n = 0; n < t; n++)
            for (int j = 0; j < dout; j++)
            {
                double s = 0;
                for (int c = 0; c < din; c++) s += w[(j * din) + c] * x[(n * din) + c];
                y[(n * dout) + j] = s;
            }
        return y;
    }

    private static double[] Softmax(double[] z)
    {
        double mx = z.Max(), sum = 0;
        double[] g = new double[z.Length];
        for (int i = 0; i < z.Length; i++) sum += g[i] = Math.Exp(z[i] - mx);
        for (int i = 0; i < z.Length; i++) g[i] /= sum;
        return g;
    }

    private static double[] MatVec(double[] m, int rows, int cols, double[] x, int xOffset, int rowOffset = 0)
    {
        double[] y = new double[rows];
        for (int i = 0; i < rows; i++)
            for (int c = 0; c < cols; c++) y[i] += m[((rowOffset + i) * cols) + c] * x[xOffset + c];
        return y;
    }

    /// <summary>p = {A [r,din], B [dout,r]}.</summary>
    public static double[] LoRA(double[][] p, double[] w, double[] x, int t, int din, int dout, int r, double s)
    {
        double[] y = Base(w, x, t, din, dout);
        for (int n = 0; n < t; n++)
        {
            double[] h = MatVec(p[0], r, din, x, n * din);
            for (int j = 0; j < dout; j++)
                for (int k = 0; k < r; k++) y[(n * dout) + j] += s * p[1][(j * r) + k] * h[k];
        }
        return y;
    }

    /// <summary>
    /// MELoRA: a = the n mini A_i [r, p] back to back, b = the mini B_i [q, r]; p = ⌊din/n⌋, q = ⌊dout/n⌋ and block i adds
    /// s·B_i·A_i·x[ip : ip+p] to y[iq : iq+q] (the tails are not adapted).
    /// </summary>
    public static double[] MELoRA(double[] a, double[] b, double[] w, double[] x, int t, int din, int dout, int r, int blocks, double s)
    {
        double[] y = Base(w, x, t, din, dout);
        int p = din / blocks, q = dout / blocks;
        for (int n = 0; n < t; n++)
            for (int i = 0; i < blocks; i++)
            {
                double[] h = new double[r];
                for (int k = 0; k < r; k++)
                    for (int c = 0; c < p; c++) h[k] += a[(((i * r) + k) * p) + c] * x[(n * din) + (i * p) + c];
                for (int o = 0; o < q; o++)
                    for (int k = 0; k < r; k++) y[(n * dout) + (i * q) + o] += s * b[(((i * q) + o) * r) + k] * h[k];
            }

        return y;
    }

    /// <summary>p = {A [r,din], W_g [N,din], ω_A [N,r], B [dout,r], ω_B [N,dout]}.</summary>
    public static double[] MoR(double[][] p, double[] w, double[] x, int t, int din, int dout, int r, int N, double s)
    {
        double[] y = Base(w, x, t, din, dout);
        for (int n = 0; n < t; n++)
        {
            double[] h = MatVec(p[0], r, din, x, n * din);
            double[] g = Softmax(MatVec(p[1], N, din, x, n * din));
            for (int i = 0; i < N; i++)
                for (int j = 0; j < dout; j++)
                {
                    double e = 0;
                    for (int k = 0; k < r; k++) e += p[3][(j * r) + k] * p[2][(i * r) + k] * h[k];
                    y[(n * dout) + j] += s * g[i] * p[4][(i * dout) + j] * e;
                }
        }
        return y;
    }

    /// <summary>p = {A_i stacked [N·r,din], W_g [N,din], B_i stacked [N,dout,r]} (the file layout).</summary>
    public static double[] MoELoRA(double[][] p, double[] w, double[] x, int t, int din, int dout, int r, int N, double s)
    {
        double[] y = Base(w, x, t, din, dout);
        for (int n = 0; n < t; n++)
        {
            double[] g = Softmax(MatVec(p[1], N, din, x, n * din));
            for (int i = 0; i < N; i++)
            {
                double[] h = MatVec(p[0], r, din, x, n * din, rowOffset: i * r);
                for (int j = 0; j < dout; j++)
                    for (int k = 0; k < r; k++) y[(n * dout) + j] += s * g[i] * p[2][(((i * dout) + j) * r) + k] * h[k];
            }
        }
        return y;
    }

    /// <summary>p = {A, B, m}; the row norm of W + s·B·A is given (detached, as PEFT does).</summary>
    public static double[] DoRA(double[][] p, double[] norm, double[] w, double[] x, int t, int din, int dout, int r, double s)
    {
        double[] u = LoRA([p[0], p[1]], w, x, t, din, dout, r, s);
        for (int n = 0; n < t; n++)
            for (int j = 0; j < dout; j++) u[(n * dout) + j] *= p[2][j] / norm[j];
        return u;
    }

    public static double[] DoRANorm(double[] a, double[] b, double[] w, int din, int dout, int r, double s)
    {
        double[] norm = new double[dout];
        for (int j = 0; j < dout; j++)
        {
            double sum = 0;
            for (int c = 0; c < din; c++)
            {
                double v = w[(j * din) + c];
                for (int k = 0; k < r; k++) v += s * b[(j * r) + k] * a[(k * din) + c];
                sum += v * v;
            }
            norm[j] = Math.Sqrt(sum);
        }
        return norm;
    }

    /// <summary>∂(Σ f(p)·R)/∂p[k][i] by central differences.</summary>
    public static double Numeric(Func<double[][], double[]> f, double[][] p, int k, int i, double[] weights, double eps = 1e-6)
    {
        double keep = p[k][i];
        p[k][i] = keep + eps;
        double lp = Dot(f(p), weights);
        p[k][i] = keep - eps;
        double lm = Dot(f(p), weights);
        p[k][i] = keep;
        return (lp - lm) / (2 * eps);
    }

    public static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }
}
