using System.Globalization;

namespace MoR.Benchmarks;

/// <summary>
/// One matrix product y [M, N] = x [M, K] · Wᵀ with W [N, K]: the layout of <see cref="Modules.Linear.Forward"/>
/// (M tokens, K input features, N output features).
/// </summary>
/// <param name="M">Rows of x and y (tokens).</param>
/// <param name="K">The shared dimension (input features).</param>
/// <param name="N">Rows of W, columns of y (output features).</param>
public readonly record struct GemmShape(int M, int K, int N)
{
    /// <summary>2·M·K·N: one multiply and one add per term.</summary>
    public double Flops => 2.0 * M * K * N;

    /// <summary>Parses <c>MxKxN</c> (for example <c>512x4096x11008</c>).</summary>
    /// <exception cref="FormatException">Not three positive integers separated by <c>x</c>.</exception>
    public static GemmShape Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Trim().ToLowerInvariant().Split('x');
        if (parts.Length == 3 &&
            int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int m) && m > 0 &&
            int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int k) && k > 0 &&
            int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0)
        {
            return new GemmShape(m, k, n);
        }

        throw new FormatException($"'{text}' is not a GEMM shape: expected MxKxN, e.g. 512x4096x11008.");
    }

    /// <summary><c>MxKxN</c>, the form <see cref="Parse"/> reads.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{M}x{K}x{N}");
}
