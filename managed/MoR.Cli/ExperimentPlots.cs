using MoR.Experiments;

namespace MoR.Cli;

/// <summary>The PNGs of <c>mor experiment</c> (ScottPlot).</summary>
internal static class ExperimentPlots
{
    public static void AccuracyVsParameters(IReadOnlyList<RunResult> runs, IReadOnlyList<MethodSpec> specs, string path)
    {
        var plot = PlotFonts.NewPlot();
        foreach (MethodSpec spec in specs)
        {
            List<RunResult> rs = [.. runs.Where(r => r.Spec == spec)];
            if (rs.Count == 0)
            {
                continue;
            }

            (double m, double s) = Stats.MeanStd(rs.Select(r => 100 * r.MeanAccuracy));
            double x = Math.Log10(rs[0].TrainableParameters);
            var point = plot.Add.Scatter(new[] { x }, new[] { m });
            point.LegendText = spec.Label;
            point.MarkerSize = 10;
            var bar = plot.Add.ErrorBar(new[] { x }, new[] { m }, new[] { s });
            bar.Color = point.Color;
        }

        plot.Title("mean exact match vs trainable parameters (mean ± std over seeds)");
        plot.XLabel("log10(trainable parameters)");
        plot.YLabel("mean exact match (%)");
        plot.ShowLegend();
        Save(plot, path);
    }

    public static void LossCurves(IReadOnlyList<RunResult> runs, IReadOnlyList<MethodSpec> specs, string path, string title)
    {
        var plot = PlotFonts.NewPlot();
        foreach (MethodSpec spec in specs)
        {
            List<RunResult> rs = [.. runs.Where(r => r.Spec == spec)];
            if (rs.Count == 0)
            {
                continue;
            }

            int steps = rs.Min(r => r.TrainCurve.Count);
            double[] xs = [.. Enumerable.Range(0, steps).Select(i => (double)rs[0].TrainCurve[i].Step)];
            double[] ys = [.. Enumerable.Range(0, steps).Select(i => rs.Average(r => r.TrainCurve[i].Value))];
            var line = plot.Add.Scatter(xs, Smooth(ys, Math.Max(1, steps / 30)));
            line.LegendText = spec.Label;
            line.MarkerSize = 0;
        }

        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("training loss (nats/token, moving average)");
        plot.ShowLegend();
        Save(plot, path);
    }

    public static void Ablations(List<(double X, RunResult Run)> experts, List<(double X, RunResult Run)> ranks, string path)
    {
        var plot = PlotFonts.NewPlot();
        if (experts.Count > 0)
        {
            var n = plot.Add.Scatter(experts.Select(p => p.X).ToArray(), experts.Select(p => 100 * p.Run.MeanAccuracy).ToArray());
            n.LegendText = "MoR, vary N (r fixed)";
        }

        if (ranks.Count > 0)
        {
            var r = plot.Add.Scatter(ranks.Select(p => p.X).ToArray(), ranks.Select(p => 100 * p.Run.MeanAccuracy).ToArray());
            r.LegendText = "MoR, vary r (N fixed)";
        }

        plot.Title("MoR ablations (seed 0): mean exact match");
        plot.XLabel("N (experts) or r (rank)");
        plot.YLabel("mean exact match (%)");
        plot.ShowLegend();
        Save(plot, path);
    }

    public static void GateHeatmap(double[][] gates, IReadOnlyList<string> tasks, string path)
    {
        int rows = gates.Length, cols = gates[0].Length;
        double[,] values = new double[rows, cols];
        for (int t = 0; t < rows; t++)
        {
            for (int i = 0; i < cols; i++)
            {
                values[t, i] = gates[t][i];
            }
        }

        var plot = PlotFonts.NewPlot();
        var map = plot.Add.Heatmap(values);
        plot.Add.ColorBar(map);
        for (int t = 0; t < rows; t++)
        {
            for (int i = 0; i < cols; i++)
            {
                plot.Add.Text(gates[t][i].ToString("F3", System.Globalization.CultureInfo.InvariantCulture), i, rows - 1 - t);
            }
        }

        plot.Title($"MoR mean gate per task (rows, top to bottom: {string.Join(", ", tasks)}) and expert (columns)");
        plot.XLabel("expert");
        plot.YLabel("task");
        Save(plot, path);
    }

    private static double[] Smooth(double[] ys, int window)
    {
        double[] result = new double[ys.Length];
        for (int i = 0; i < ys.Length; i++)
        {
            int from = Math.Max(0, i - window + 1);
            result[i] = ys.AsSpan(from, i - from + 1).ToArray().Average();
        }

        return result;
    }

    private static void Save(ScottPlot.Plot plot, string path)
    {
        string temp = path + ".tmp.png";
        plot.SavePng(temp, 1000, 600);
        File.Move(temp, path, overwrite: true);
    }
}
