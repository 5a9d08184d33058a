namespace MoR.Experiments;

/// <summary>Mean and sample standard deviation across seeds.</summary>
public static class Stats
{
    /// <summary>(mean, sample std; std is 0 for a single value, NaN for none).</summary>
    public static (double Mean, double Std) MeanStd(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        double[] v = [.. values];
        if (v.Length == 0)
        {
            return (double.NaN, double.NaN);
        }

        double mean = v.Average();
        double std = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0;
        return (mean, std);
    }
}
