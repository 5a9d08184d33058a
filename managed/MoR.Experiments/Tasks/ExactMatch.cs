namespace MoR.Tasks;

/// <summary>The suite's metric: the generated text, cut at the first newline and trimmed, equals the answer.</summary>
public static class ExactMatch
{
    /// <summary>Whether <paramref name="generated"/> answers <paramref name="sample"/> exactly.</summary>
    public static bool IsCorrect(TaskSample sample, string generated)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(generated);
        int newline = generated.IndexOf('\n', StringComparison.Ordinal);
        string answer = (newline >= 0 ? generated[..newline] : generated).Trim();
        return string.Equals(answer, sample.Answer, StringComparison.Ordinal);
    }

    /// <summary>The fraction of <paramref name="samples"/> answered exactly by the matching <paramref name="generated"/> texts.</summary>
    public static double Accuracy(IReadOnlyList<TaskSample> samples, IReadOnlyList<string> generated)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(generated);
        if (samples.Count != generated.Count)
        {
            throw new ArgumentException($"{samples.Count} samples but {generated.Count} generated texts.", nameof(generated));
        }

        if (samples.Count == 0)
        {
            return 0;
        }

        int correct = 0;
        for (int i = 0; i < samples.Count; i++)
        {
            correct += IsCorrect(samples[i], generated[i]) ? 1 : 0;
        }

        return (double)correct / samples.Count;
    }
}
