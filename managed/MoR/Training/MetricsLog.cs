using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MoR.Training;

/// <summary>
/// Appends one JSON object per step and per evaluation to <c>metrics.jsonl</c>:
/// <c>{"type":"step","step":…,"loss":…,"lr":…,"grad_norm":…,"tokens":…,"tokens_per_second":…,"skipped":…}</c>
/// and <c>{"type":"eval","step":…,"loss":…,"ppl":…,"tokens":…}</c>.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly StreamWriter _writer;

    /// <summary>Opens <paramref name="path"/>; on a resume from <paramref name="resumedStep"/>, lines of later steps (written after that checkpoint by the interrupted run) are dropped first.</summary>
    public MetricsLog(string path, int resumedStep = 0)
    {
        Path = path;
        if (resumedStep > 0 && File.Exists(path))
        {
            string[] kept = [.. File.ReadAllLines(path).Where(l => StepOf(l) is int s && s <= resumedStep)];
            File.WriteAllLines(path, kept);
        }
        else if (resumedStep == 0 && File.Exists(path))
        {
            File.Delete(path);
        }

        _writer = new StreamWriter(path, append: true) { AutoFlush = true };
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Logs every step and evaluation of <paramref name="trainer"/>.</summary>
    public void Attach(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        trainer.StepCompleted += (_, m) => Write(ToJson(m));
        trainer.EvalCompleted += (_, m) => Write(ToJson(m));
    }

    /// <summary>The JSON object of a step (with <c>router_balance_loss</c> when that term is on).</summary>
    public static JsonObject ToJson(StepMetrics m)
    {
        ArgumentNullException.ThrowIfNull(m);
        JsonObject line = new()
        {
            ["type"] = "step",
            ["step"] = m.Step,
            ["max_steps"] = m.MaxSteps,
            ["loss"] = Finite(m.Loss),
            ["lr"] = m.LearningRate,
            ["grad_norm"] = Finite(m.GradNorm),
            ["tokens"] = m.Tokens,
            ["tokens_per_second"] = Math.Round(m.TokensPerSecond, 1),
            ["elapsed_s"] = Math.Round(m.Elapsed.TotalSeconds, 3),
            ["eta_s"] = Math.Round(m.Eta.TotalSeconds, 1),
            ["skipped"] = m.Skipped,
        };
        if (m.RouterBalanceLoss != 0)
        {
            line["router_balance_loss"] = Finite(m.RouterBalanceLoss);
        }

        return line;
    }

    /// <summary>The JSON object of an evaluation.</summary>
    public static JsonObject ToJson(EvalMetrics m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new JsonObject
        {
            ["type"] = "eval",
            ["step"] = m.Step,
            ["loss"] = Finite(m.Loss),
            ["ppl"] = Finite(m.Perplexity),
            ["tokens"] = m.Tokens,
        };
    }

    /// <summary>Writes one object as a line.</summary>
    public void Write(JsonObject line)
    {
        ArgumentNullException.ThrowIfNull(line);
        _writer.WriteLine(line.ToJsonString());
    }

    /// <inheritdoc/>
    public void Dispose() => _writer.Dispose();

    // JSON has no NaN/Infinity: those are written as strings so a line never becomes invalid JSON.
    private static JsonNode? Finite(double value) =>
        double.IsFinite(value) ? JsonValue.Create(value) : JsonValue.Create(value.ToString(CultureInfo.InvariantCulture));

    private static int? StepOf(string line)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(line);
            return doc.RootElement.TryGetProperty("step", out JsonElement s) && s.TryGetInt32(out int step) ? step : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
