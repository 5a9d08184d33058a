using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using MoR.Experiments;
using MoR.IO;

namespace MoR.Cli;

/// <summary>
/// Collects the runs of <c>mor experiment</c> and writes RESULTS.md, results.json and the PNGs. RESULTS.md is
/// regenerated after each stage (a partial run still leaves a readable file); anything written below the
/// <see cref="KeepMarker"/> line of an existing RESULTS.md (the hand-written discussion) is kept.
/// </summary>
internal sealed class ExperimentReport(ExperimentScale scale, string device, bool smoke)
{
    public const string KeepMarker = "<!-- everything below this line is hand-written and kept when the command regenerates the file -->";

    private readonly List<RunResult> _runs = [];
    private readonly List<(TeacherVariant Variant, double Changed, double[] Baseline, MethodSpec[] Specs)> _teachers = [];

    public double PretrainSeconds { get; set; }

    public double TotalSeconds { get; set; }

    public Dictionary<string, double> BaseAccuracy { get; set; } = [];

    public Dictionary<string, double> BaseLoss { get; set; } = [];

    public IReadOnlyList<MethodSpec> MainSpecs { get; set; } = [];

    public void Add(RunResult run) => _runs.Add(run);

    public void AddTeacher(TeacherVariant variant, double changed, double[] baseline, MethodSpec[] specs) => _teachers.Add((variant, changed, baseline, specs));

    /// <summary>Writes everything; returns the RESULTS.md path.</summary>
    public string Save(string output)
    {
        string resultsDir = Path.Combine(output, "results");
        Directory.CreateDirectory(resultsDir);
        AtomicFile.WriteAllText(Path.Combine(resultsDir, "results.json"), Json());
        var plots = new List<string>();
        void TryPlot(string name, Action<string> draw)
        {
            try
            {
                draw(Path.Combine(resultsDir, name));
                plots.Add(name);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or TypeInitializationException or DllNotFoundException or ArgumentException)
            {
                Console.Error.WriteLine($"warning: {name} was not written ({e.Message})");
            }
        }

        List<RunResult> main = [.. _runs.Where(r => r.Group == "main")];
        if (main.Count > 0)
        {
            TryPlot("accuracy_vs_parameters.png", p => ExperimentPlots.AccuracyVsParameters(main, MainSpecs, p));
            TryPlot("loss_curves.png", p => ExperimentPlots.LossCurves(main, MainSpecs, p, "main suite: training loss (mean over seeds)"));
        }

        foreach ((TeacherVariant v, _, _, MethodSpec[] specs) in _teachers)
        {
            List<RunResult> runs = [.. _runs.Where(r => r.Group == $"teacher-{v}")];
            if (runs.Count > 0)
            {
                TryPlot($"teacher_{v}_loss_curves.png", p => ExperimentPlots.LossCurves(runs, specs, p, $"teacher suite {v}: training loss"));
            }
        }

        if (_runs.Any(r => r.Group.StartsWith("ablation-", StringComparison.Ordinal)))
        {
            TryPlot("ablations.png", p => ExperimentPlots.Ablations(AblationPoints("ablation-N", s => s.Experts), AblationPoints("ablation-r", s => s.Rank), p));
        }

        if (main.FirstOrDefault(r => r.MeanGates is not null) is { } gated)
        {
            TryPlot("router_gates.png", p => ExperimentPlots.GateHeatmap(gated.MeanGates!, SuiteRunner.FinetuneTasks, p));
        }

        string path = Path.Combine(output, "RESULTS.md");
        string kept = File.Exists(path) && File.ReadAllText(path) is var old && old.IndexOf(KeepMarker, StringComparison.Ordinal) is int at and >= 0
            ? old[(at + KeepMarker.Length)..]
            : "\n";
        AtomicFile.WriteAllText(path, Markdown(plots) + KeepMarker + kept);
        return path;
    }

    private List<(double X, RunResult Run)> AblationPoints(string group, Func<MethodSpec, int> x)
    {
        RunResult? shared = _runs.FirstOrDefault(r => r.Group == "main" && r.Seed == 0 && r.Spec.Method == MoR.Adapters.MoRMethod.Instance.Name);
        var points = _runs.Where(r => r.Group == group).Select(r => ((double)x(r.Spec), r)).ToList();
        if (shared is not null && points.Count > 0)
        {
            points.Add((x(shared.Spec), shared));
        }

        return [.. points.OrderBy(p => p.Item1)];
    }

    private string Markdown(List<string> plots)
    {
        var md = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        md.AppendLine("# Results: MoR vs LoRA, DoRA, MoE-LoRA and full fine-tuning at small scale");
        md.AppendLine();
        md.AppendLine(ci, $"Command: `{ThreadEnvironment()}dotnet run -c Release --project managed/MoR.Cli -- experiment{(smoke ? " --smoke" : string.Empty)}` (writes this file, `docs/results/*.png` and `docs/results/results.json`).");
        md.AppendLine();
        md.AppendLine(ci, $"Machine: {Machine()}; device `{device}`. Base pretraining: {(PretrainSeconds > 0 ? $"{PretrainSeconds:F0} s" : "cached")}; whole run: {(TotalSeconds > 0 ? $"{TotalSeconds / 60:F1} min" : "(in progress)")}.");
        md.AppendLine();
        md.AppendLine("## Scale");
        md.AppendLine();
        string pretrain = string.Join(", ", SuiteRunner.PretrainTaskSet().Select(t => t.Name));
        md.AppendLine(ci, $"- Base: byte-level LLaMA, {scale.Layers} layers, d={scale.Hidden}, ffn={scale.Ffn}, {scale.Heads} heads, pretrained {scale.PretrainSteps} steps × {scale.MicroBatch} rows × {scale.SeqLen} tokens (full FT, lr 3e-3) on {pretrain} (short problems: 2–5 letters, numbers below 10).");
        md.AppendLine(ci, $"- Fine-tuning mixture: the held-out tasks {string.Join(", ", SuiteRunner.FinetuneTasks)} (2–5 letters; two-step chains) plus the pretraining tasks {pretrain} replayed, {scale.ExamplesPerTask} train examples per task; {scale.FinetuneSteps} steps × {scale.MicroBatch} rows × {scale.SeqLen} tokens, packed, loss on answers only; AdamW, cosine schedule, warm-up {Math.Min(20, scale.FinetuneSteps / 10)} steps, clip 1.0; adapter lr {scale.AdapterLearningRate.ToString(ci)}, full FT lr {scale.FullLearningRate.ToString(ci)}; α = 2r; adapters on {string.Join("/", scale.TargetModules)}{(scale.TargetModules.SequenceEqual(["gate_proj", "up_proj", "down_proj"]) ? " (the paper's placement)" : " (the paper adapts only gate/up/down_proj)")}; seeds 0..{scale.Seeds - 1} (seed = adapter init and data order; same base for all).");
        md.AppendLine(ci, $"- Test: {scale.TestPerTask} test-split problems per held-out task, greedy decoding, exact match; test loss = mean token loss on the answers of the same problems.");
        md.AppendLine();
        md.AppendLine("## Main table");
        md.AppendLine();
        List<RunResult> main = [.. _runs.Where(r => r.Group == "main")];
        long moe = main.FirstOrDefault(r => r.Spec.Method == MoR.Adapters.MoELoRAMethod.Instance.Name)?.TrainableParameters ?? 0;
        string[] tasks = SuiteRunner.FinetuneTasks;
        md.AppendLine(ci, $"Exact match (%) and test loss, mean ± std over {scale.Seeds} seed(s). Base model before fine-tuning: {string.Join(", ", tasks.Select(t => $"{t} {Pct(BaseAccuracy.GetValueOrDefault(t))}"))} (test loss {(BaseLoss.Count > 0 ? BaseLoss.Values.Average() : double.NaN):F3}).");
        md.AppendLine();
        md.AppendLine("| method | trainable params | % of MoE-LoRA | " + string.Join(" | ", tasks) + " | mean EM | test loss | tokens/s | peak memory |");
        md.AppendLine("|---|---:|---:|" + string.Concat(tasks.Select(_ => "---:|")) + "---:|---:|---:|---:|");
        foreach (MethodSpec spec in MainSpecs)
        {
            List<RunResult> runs = [.. main.Where(r => r.Spec == spec)];
            if (runs.Count == 0)
            {
                continue;
            }

            long p = runs[0].TrainableParameters;
            md.Append(ci, $"| {spec.Label} | {p:N0} | {(moe > 0 ? $"{100.0 * p / moe:F1} %" : "-")} | ");
            foreach (string t in tasks)
            {
                md.Append(PctStd(runs.Select(r => r.TaskAccuracy[t]))).Append(" | ");
            }

            md.Append(PctStd(runs.Select(r => r.MeanAccuracy))).Append(" | ");
            md.Append(Std(runs.Select(r => r.TestLoss), "F3")).Append(" | ");
            md.Append(Std(runs.Select(r => r.TokensPerSecond), "F0")).Append(" | ");
            md.AppendLine(ci, $"{runs.Max(r => r.PeakBytes) / 1048576.0:F1} MiB |");
        }

        md.AppendLine();
        md.AppendLine("Peak memory is the native allocator's peak (`Device.AllocatorStats.PeakBytes`) from loading the base to the end of training: base weights, adapters, gradients, AdamW moments and activations. Tokens/s is steady-state training throughput: input tokens per second of the median optimizer step, the first 10 % of steps (JIT, first allocations, BLAS thread start) and all evaluation left out; on shared cores, treat differences under ~20 % as noise.");
        md.AppendLine();
        foreach (string plot in plots.Where(p => p is "accuracy_vs_parameters.png" or "loss_curves.png"))
        {
            md.AppendLine(ci, $"![{plot}](results/{plot})");
            md.AppendLine();
        }

        md.AppendLine("## Teacher suites (controlled)");
        md.AppendLine();
        TeacherScale ts = scale.Teacher;
        md.AppendLine(ci, $"A frozen random LLaMA teacher ({ts.Layers} layers, d={ts.Hidden}, ffn={ts.Ffn}, vocab {ts.Vocab}, initializer_range {ts.InitializerRange.ToString(ci)}); T={ts.Tasks} tasks, task t adds ΔW_t = B_t·U_t (rank k={ts.TaskRank}, U_t orthonormal rows, B_t ~ N(0, {ts.DeltaStd.ToString(ci)}²)) to every up_proj. A sequence is [task token t, {ts.SeqLen - 1} uniform tokens]; labels are the task teacher's greedy next token at every position. The student is the teacher without ΔW plus an adapter on up_proj, trained {ts.Steps} steps × {ts.MicroBatch} rows on the mixture ({ts.TrainPerTask} sequences per task, lr {ts.LearningRate.ToString(ci)}), scored by per-task cross-entropy to the teacher's greedy tokens on {ts.TestPerTask} held-out sequences per task; {ts.Seeds} seed(s).");
        md.AppendLine();
        foreach ((TeacherVariant v, double changed, double[] baseline, MethodSpec[] specs) in _teachers)
        {
            string title = v == TeacherVariant.SharedInput
                ? "(i) shared input subspace, different output maps"
                : $"(ii) disjoint input subspaces, T·k = {ts.Tasks * ts.TaskRank} > r = {ts.Rank}";
            md.AppendLine(ci, $"### {title}");
            md.AppendLine();
            md.AppendLine(ci, $"{changed:P1} of the labels differ from those of the teacher without ΔW. Student without adapter: held-out loss {baseline.Average():F3}.");
            md.AppendLine();
            md.AppendLine("| method | trainable params | % of MoE-LoRA | " + string.Join(" | ", Enumerable.Range(0, ts.Tasks).Select(TeacherSuite.TaskName)) + " | mean held-out loss |");
            md.AppendLine("|---|---:|---:|" + string.Concat(Enumerable.Range(0, ts.Tasks).Select(_ => "---:|")) + "---:|");
            List<RunResult> runs = [.. _runs.Where(r => r.Group == $"teacher-{v}")];
            long tmoe = runs.FirstOrDefault(r => r.Spec.Method == MoR.Adapters.MoELoRAMethod.Instance.Name)?.TrainableParameters ?? 0;
            foreach (MethodSpec spec in specs)
            {
                List<RunResult> rs = [.. runs.Where(r => r.Spec == spec)];
                if (rs.Count == 0)
                {
                    continue;
                }

                long p = rs[0].TrainableParameters;
                md.Append(ci, $"| {spec.Label} | {p:N0} | {(tmoe > 0 ? $"{100.0 * p / tmoe:F1} %" : "-")} | ");
                foreach (int t in Enumerable.Range(0, ts.Tasks))
                {
                    md.Append(Std(rs.Select(r => r.TaskLoss[TeacherSuite.TaskName(t)]), "F3")).Append(" | ");
                }

                md.AppendLine(Std(rs.Select(r => r.TestLoss), "F3") + " |");
            }

            md.AppendLine();
            if (plots.Contains($"teacher_{v}_loss_curves.png"))
            {
                md.AppendLine(ci, $"![teacher {v}](results/teacher_{v}_loss_curves.png)");
                md.AppendLine();
            }
        }

        md.AppendLine("## Ablations (MoR, main suite, seed 0 unless stated)");
        md.AppendLine();
        md.AppendLine("Gate balance: N·Σ_i P_i² of each MoR layer's mean gates P_i over the tokens of the heat-map's test prompts, averaged over layers (1 = every expert used equally, N = one expert only).");
        md.AppendLine();
        md.AppendLine("| ablation | setting | trainable params | mean EM | test loss | gate balance |");
        md.AppendLine("|---|---|---:|---:|---:|---:|");
        foreach ((string group, string name, Func<MethodSpec, int> x) in new (string, string, Func<MethodSpec, int>)[] { ("ablation-N", "experts N", s => s.Experts), ("ablation-r", "rank r", s => s.Rank) })
        {
            foreach ((double _, RunResult run) in AblationPoints(group, x))
            {
                md.AppendLine(ci, $"| {name} | {run.Spec.Label} | {run.TrainableParameters:N0} | {Pct(run.MeanAccuracy)} | {run.TestLoss:F3} | {run.GateBalance:F3} |");
            }
        }

        List<RunResult> soft = [.. main.Where(r => r.Spec.Method == MoR.Adapters.MoRMethod.Instance.Name)];
        List<RunResult> mean = [.. _runs.Where(r => r.Group == "ablation-router" && r.Spec.Router == RouterMode.MeanPooling)];
        List<RunResult> balanced = [.. _runs.Where(r => r.Group == "ablation-router" && r.Spec.Router == RouterMode.BalanceLoss)];
        if (soft.Count > 0 && (mean.Count > 0 || balanced.Count > 0))
        {
            md.AppendLine(ci, $"| router ({soft.Count} seeds) | softmax (the main MoR runs) | {soft[0].TrainableParameters:N0} | {PctStd(soft.Select(r => r.MeanAccuracy))} | {Std(soft.Select(r => r.TestLoss), "F3")} | {Std(soft.Select(r => r.GateBalance), "F3")} |");
        }

        if (mean.Count > 0)
        {
            md.AppendLine(ci, $"| router ({mean.Count} seeds) | mean pooling (W_g = 0, frozen: gates 1/N) | {mean[0].TrainableParameters:N0} (W_g counted, never updated) | {PctStd(mean.Select(r => r.MeanAccuracy))} | {Std(mean.Select(r => r.TestLoss), "F3")} | {Std(mean.Select(r => r.GateBalance), "F3")} |");
        }

        if (balanced.Count > 0)
        {
            md.AppendLine(ci, $"| router ({balanced.Count} seeds) | softmax + load-balancing loss (α = {scale.RouterBalanceLoss.ToString(ci)}) | {balanced[0].TrainableParameters:N0} | {PctStd(balanced.Select(r => r.MeanAccuracy))} | {Std(balanced.Select(r => r.TestLoss), "F3")} | {Std(balanced.Select(r => r.GateBalance), "F3")} |");
        }

        md.AppendLine();
        md.AppendLine(ci, $"The balance-loss router adds α·N·Σ_i P_i² per MoR layer and micro-batch (P_i = mean gate of expert i over the micro-batch's tokens; averaged over layers; equal to α at uniform usage) to the training objective: `mor finetune --router-balance-loss α`, docs/TRAINING.md. Its value is not part of the test loss.");
        md.AppendLine();
        if (plots.Contains("ablations.png"))
        {
            md.AppendLine("![ablations](results/ablations.png)");
            md.AppendLine();
        }

        md.AppendLine("## Router analysis");
        md.AppendLine();
        if (plots.Contains("router_gates.png"))
        {
            RunResult gated = main.First(r => r.MeanGates is not null);
            md.AppendLine("Mean gate per (task, expert) of the seed-0 MoR run, over the tokens of prompt + answer of test problems and over all MoR layers:");
            md.AppendLine();
            md.AppendLine("| task | " + string.Join(" | ", Enumerable.Range(0, gated.MeanGates![0].Length).Select(i => $"expert {i}")) + " |");
            md.AppendLine("|---|" + string.Concat(Enumerable.Range(0, gated.MeanGates[0].Length).Select(_ => "---:|")));
            for (int t = 0; t < tasks.Length; t++)
            {
                md.AppendLine(ci, $"| {tasks[t]} | {string.Join(" | ", gated.MeanGates[t].Select(g => g.ToString("F3", ci)))} |");
            }

            md.AppendLine();
            md.AppendLine("![router gates](results/router_gates.png)");
            md.AppendLine();
        }
        else
        {
            md.AppendLine("(not produced)");
            md.AppendLine();
        }

        return md.ToString();
    }

    private static string Pct(double v) => double.IsNaN(v) ? "-" : (100 * v).ToString("F1", CultureInfo.InvariantCulture);

    private static string PctStd(IEnumerable<double> values)
    {
        (double m, double s) = Stats.MeanStd(values);
        return string.Create(CultureInfo.InvariantCulture, $"{100 * m:F1} ± {100 * s:F1}");
    }

    private static string Std(IEnumerable<double> values, string format)
    {
        (double m, double s) = Stats.MeanStd(values);
        return $"{m.ToString(format, CultureInfo.InvariantCulture)} ± {s.ToString(format, CultureInfo.InvariantCulture)}";
    }

    // The thread count changes only the speed (results are bit-identical on any count, docs/PERFORMANCE.md), but a
    // run made with a non-default count says so in its command line, as the time it took depends on it.
    private static string ThreadEnvironment() =>
        string.Concat(new[] { "MOR_NUM_THREADS", "OMP_NUM_THREADS" }
            .Select(v => Environment.GetEnvironmentVariable(v) is { Length: > 0 } value ? $"{v}={value} " : string.Empty));

    private static string Machine()
    {
        string cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return $"{cpu}, {Environment.ProcessorCount} logical cores (shared with other jobs), {RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }

    private string Json()
    {
        var options = new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
        options.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter());
        return JsonSerializer.Serialize(new { scale = scale.Name, device, runs = _runs, teachers = _teachers.Select(t => new { variant = t.Variant.ToString(), changed_fraction = t.Changed, baseline_loss = t.Baseline }) }, options) + "\n";
    }
}
