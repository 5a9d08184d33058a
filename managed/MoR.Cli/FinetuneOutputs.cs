namespace MoR.Cli;

/// <summary>The layout of a <c>--output</c> folder.</summary>
internal static class FinetuneOutputs
{
    public static string Adapter(string output) => Path.Combine(output, "adapter");

    public static string FullModel(string output) => Path.Combine(output, "model");

    public static string Checkpoints(string output) => Path.Combine(output, "checkpoints");

    public static string Metrics(string output) => Path.Combine(output, "metrics.jsonl");

    public static string LossPlot(string output) => Path.Combine(output, "loss.png");

    public static string Config(string output) => Path.Combine(output, "training_config.json");
}
