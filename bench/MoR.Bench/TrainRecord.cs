using System.Text.Json;

namespace MoR.Bench;

/// <summary>
/// One training-step measurement from any stack, as the comparison needs it. Read from our
/// <see cref="MoR.Benchmarks.TrainBenchmarkResult"/> JSON (camelCase; the PyTorch peer writes the same) or the
/// TorchSharp peer's (snake_case).
/// </summary>
internal sealed record TrainRecord(
    string Stack, string Method, string FrozenDType, double TokensPerSecond, double MedianMs, double MinMs, long PeakResidentBytes,
    long PeakDeviceBytes, double FirstLoss, long TrainableParameters, double StepTflops, JsonElement Raw)
{
    /// <summary>The slowest timed step (NaN when the record has none).</summary>
    public double MaxMs => Raw.TryGetProperty("step", out JsonElement s) ? Num2(s, "maxMs") : Raw.TryGetProperty("step_ms_max", out JsonElement m) ? m.GetDouble() : double.NaN;

    /// <summary>Spread of the timed steps within the run: (slowest − fastest) / median.</summary>
    public double Spread => (MaxMs - MinMs) / MedianMs;

    public static TrainRecord Parse(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement r = doc.RootElement.Clone();
        double Num(params string[] names) => Find(r, names) is { ValueKind: JsonValueKind.Number } e ? e.GetDouble() : double.NaN;
        string Text(string fallback, params string[] names) => Find(r, names) is { ValueKind: JsonValueKind.String } e ? e.GetString()! : fallback;
        JsonElement? step = Find(r, "step");
        double median = step is { } s ? Num2(s, "medianMs") : Num("step_ms_median");
        double min = step is { } s2 ? Num2(s2, "minMs") : Num("step_ms_min");
        JsonElement? losses = Find(r, "losses");
        double first = losses is { ValueKind: JsonValueKind.Array } l && l.GetArrayLength() > 0 ? l[0].GetDouble() : double.NaN;
        return new TrainRecord(
            Text("?", "stack"), Text("?", "method"), Text("F32", "frozenDType", "frozen_dtype").ToUpperInvariant(),
            Num("tokensPerSecond", "tokens_per_s"), median, min, (long)Zero(Num("peakResidentBytes", "peak_rss_bytes")),
            (long)Zero(Num("peakDeviceBytes", "peak_device_bytes")), first, (long)Zero(Num("trainableParameters", "trainable_parameters")),
            Num("stepTflops", "step_tflops"), r);
    }

    private static double Zero(double v) => double.IsNaN(v) ? 0 : v;

    private static double Num2(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;

    private static JsonElement? Find(JsonElement e, params string[] names)
    {
        foreach (string name in names)
        {
            if (e.TryGetProperty(name, out JsonElement v))
            {
                return v;
            }
        }

        return null;
    }
}
