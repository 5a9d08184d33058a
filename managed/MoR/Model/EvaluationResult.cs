using System.Globalization;

namespace MoR.Model;

/// <summary>Mean next-token negative log-likelihood over a data set.</summary>
/// <param name="Sequences">Lines evaluated.</param>
/// <param name="Tokens">Targets scored (labels not -100).</param>
/// <param name="MeanNll">Mean −log p(target) in nats (NaN when no target).</param>
public sealed record EvaluationResult(long Sequences, long Tokens, double MeanNll)
{
    /// <summary>exp(mean NLL).</summary>
    public double Perplexity => Math.Exp(MeanNll);

    /// <summary><c>{"tokens": N, "mean_nll": x, "ppl": y}</c>.</summary>
    /// <returns>One line of JSON.</returns>
    public string ToJson() => string.Create(
        CultureInfo.InvariantCulture, $"{{\"tokens\": {Tokens}, \"mean_nll\": {Format(MeanNll)}, \"ppl\": {Format(Perplexity)}}}");

    private static string Format(double v) => double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "null";
}
