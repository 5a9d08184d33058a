using System.Text.Json;

namespace MoR.Cli;

/// <summary>Draws the training (and validation) loss of a metrics.jsonl file into a PNG with ScottPlot.</summary>
internal static class LossPlot
{
    public static void Save(string metricsPath, string pngPath, string title)
    {
        var steps = new List<double>();
        var losses = new List<double>();
        var evalSteps = new List<double>();
        var evalLosses = new List<double>();
        foreach (string line in File.ReadLines(metricsPath))
        {
            using JsonDocument doc = JsonDocument.Parse(line);
            JsonElement e = doc.RootElement;
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("loss", out JsonElement loss) || loss.ValueKind != JsonValueKind.Number
                || !e.TryGetProperty("step", out JsonElement step) || step.ValueKind != JsonValueKind.Number)
            {
                continue;  // non-finite losses are written as strings (and a foreign line has no step): nothing to draw
            }

            bool eval = e.TryGetProperty("type", out JsonElement type) && type.ValueKind == JsonValueKind.String && type.GetString() == "eval";
            (eval ? evalSteps : steps).Add(step.GetDouble());
            (eval ? evalLosses : losses).Add(loss.GetDouble());
        }

        var plot = PlotFonts.NewPlot();
        if (steps.Count > 0)
        {
            var train = plot.Add.Scatter(steps.ToArray(), losses.ToArray());
            train.LegendText = "train loss";
            train.MarkerSize = 0;
        }

        if (evalSteps.Count > 0)
        {
            var validation = plot.Add.Scatter(evalSteps.ToArray(), evalLosses.ToArray());
            validation.LegendText = "validation loss";
            validation.MarkerSize = 6;
        }

        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("mean token loss (nats)");
        plot.ShowLegend();
        string temp = pngPath + ".tmp.png";
        try
        {
            plot.SavePng(temp, 900, 540);
            File.Move(temp, pngPath, overwrite: true);
        }
        catch
        {
            File.Delete(temp);  // no half-written leftovers beside the outputs (a missing file is not an error)
            throw;
        }
    }
}
