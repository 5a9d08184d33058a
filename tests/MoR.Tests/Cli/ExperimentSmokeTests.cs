using System.Text.Json;
using MoR.Cli;
using MoR.Tests.IO;

namespace MoR.Tests.Cli;

/// <summary>
/// <c>mor experiment --smoke</c> end to end: every stage runs and writes its files with finite numbers.
/// Never asserts which method wins: at smoke size the numbers mean nothing.
/// </summary>
[Collection("Quickstart")]
public sealed class ExperimentSmokeTests
{
    [Fact]
    public void Smoke_experiment_writes_results_plots_and_finite_numbers()
    {
        using var dir = new TempDirectory();
        string output = dir.File("docs");
        (int code, string stdout, string err) = CliRunner.Run("experiment", "--smoke", "--output", output, "--cache", dir.File("cache"));
        Assert.True(code == ExitCodes.Ok, err);
        Assert.Contains("RESULTS.md", stdout, StringComparison.Ordinal);

        string md = File.ReadAllText(Path.Combine(output, "RESULTS.md"));
        Assert.Contains("experiment --smoke", md, StringComparison.Ordinal);
        Assert.Contains("## Main table", md, StringComparison.Ordinal);
        Assert.Contains("softmax + load-balancing loss", md, StringComparison.Ordinal);
        Assert.DoesNotContain("not implemented", md, StringComparison.Ordinal);
        Assert.Contains(ExperimentReport.KeepMarker, md, StringComparison.Ordinal);
        foreach (string png in (string[])["accuracy_vs_parameters.png", "loss_curves.png", "router_gates.png", "ablations.png",
                                          "teacher_SharedInput_loss_curves.png", "teacher_DisjointInput_loss_curves.png"])
        {
            var info = new FileInfo(Path.Combine(output, "results", png));
            Assert.True(info.Exists && info.Length > 1000, $"{png} missing or empty");
        }

        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results", "results.json")));
        JsonElement[] runs = [.. json.RootElement.GetProperty("runs").EnumerateArray()];
        string[] groups = [.. runs.Select(r => r.GetProperty("Group").GetString()!).Distinct()];
        Assert.Contains("main", groups);
        Assert.Contains("teacher-SharedInput", groups);
        Assert.Contains("teacher-DisjointInput", groups);
        Assert.Contains("ablation-N", groups);
        Assert.Contains("ablation-router", groups);
        Assert.Equal(["BalanceLoss", "MeanPooling"], runs.Where(r => r.GetProperty("Group").GetString() == "ablation-router").Select(r => r.GetProperty("Spec").GetProperty("Router").GetString()!).Distinct().Order());
        // Every registered method has a row, and full fine-tuning.
        Assert.Equal(
            [.. MoR.Adapters.AdapterMethods.Names.Order()],
            runs.Where(r => r.GetProperty("Group").GetString() == "main").Select(r => r.GetProperty("Spec").GetProperty("Method").GetString()!).Distinct().Order());
        foreach (JsonElement run in runs)
        {
            Assert.True(double.IsFinite(run.GetProperty("TestLoss").GetDouble()));
            Assert.True(run.GetProperty("TokensPerSecond").GetDouble() > 0);
            Assert.True(run.GetProperty("PeakBytes").GetInt64() > 0);
            Assert.True(run.GetProperty("TrainableParameters").GetInt64() > 0);
            Assert.All(run.GetProperty("TaskLoss").EnumerateObject(), p => Assert.True(double.IsFinite(p.Value.GetDouble())));
            Assert.All(run.GetProperty("TaskAccuracy").EnumerateObject(), p => Assert.InRange(p.Value.GetDouble(), 0, 1));
        }

        // Regenerating keeps the hand-written part below the marker.
        File.AppendAllText(Path.Combine(output, "RESULTS.md"), "\nhand-written note\n");
        (code, _, err) = CliRunner.Run("experiment", "--smoke", "--output", output, "--cache", dir.File("cache"));
        Assert.True(code == ExitCodes.Ok, err);
        Assert.Contains("hand-written note", File.ReadAllText(Path.Combine(output, "RESULTS.md")), StringComparison.Ordinal);
    }
}
