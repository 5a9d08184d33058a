using System.CommandLine;
using System.Diagnostics;
using MoR.Adapters;
using MoR.Experiments;
using MoR.Training;

namespace MoR.Cli;

/// <summary>
/// <c>mor experiment</c>: the paper's comparison at small scale, from one command. Trains LoRA, DoRA,
/// MoE-LoRA, MoR and full fine-tuning from one pretrained base on the synthetic multi-task suite (3 seeds),
/// then the teacher suites, the N / r ablations, the router ablation (softmax, mean pooling, softmax + balance loss)
/// and the gate heat-map, and writes
/// RESULTS.md plus PNGs and results.json under the output folder. <c>--smoke</c> is the same pipeline at
/// toy size (under two minutes on two cores).
/// </summary>
internal static class ExperimentCommand
{
    public static Command Create(CliConsole console)
    {
        Option<string> device = CommonOptions.Device();
        var smoke = new Option<bool>("--smoke") { Description = "Tiny model, 1 seed, few steps, one ablation point (< 2 minutes on 2 cores)" };
        var output = new Option<string>("--output") { Description = "Folder for RESULTS.md (PNGs and results.json go to <output>/results)", DefaultValueFactory = _ => "docs" };
        var cache = new Option<string?>("--cache") { Description = "Folder for the pretrained base (default $MOR_CACHE_DIR or ~/.cache/mornative)" };
        var command = new Command("experiment", "Reproduce the paper's method comparison at small scale and write RESULTS.md") { device, smoke, output, cache };
        command.SetAction(parse => Run(console, parse.GetValue(device)!, parse.GetValue(smoke), parse.GetValue(output)!, parse.GetValue(cache)));
        return command;
    }

    private static int Run(CliConsole console, string deviceName, bool smoke, string output, string? cache)
    {
        var clock = Stopwatch.StartNew();
        MoR.Device device = CommonOptions.OpenDevice(deviceName);
        ExperimentScale scale = smoke ? ExperimentScale.Smoke : ExperimentScale.Default;
        void Log(string message) => console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] {message}");
        string baseDir = Path.Combine(cache ?? Quickstart.CacheDirectory(), $"experiment-base-{scale.Name}-h{scale.Hidden}-l{scale.Layers}-p{scale.PretrainSteps}-v2");
        var report = new ExperimentReport(scale, deviceName, smoke);
        var suite = new SuiteRunner(device, scale, baseDir, Log);
        report.PretrainSeconds = suite.EnsureBase();
        (report.BaseAccuracy, report.BaseLoss) = suite.ScoreBase();

        // 1. The main table: every method, same base, same data order per seed.
        IReadOnlyList<(int In, int Out)> shapes = suite.TargetShapes();
        int r = scale.Rank, n = scale.Experts;
        MethodSpec[] main = [.. MainSpecs(shapes, r, n)];
        report.MainSpecs = main;
        for (ulong seed = 0; seed < (ulong)scale.Seeds; seed++)
        {
            foreach (MethodSpec spec in main)
            {
                report.Add(Timed(Log, () => suite.Run("main", spec, seed, collectGates: true)));
            }
        }

        report.Save(output);

        // 2. The teacher suites.
        foreach (TeacherVariant variant in Enum.GetValues<TeacherVariant>())
        {
            TeacherScale ts = scale.Teacher;
            var teacher = new TeacherSuite(device, ts, variant);
            Log($"teacher {variant}: {teacher.ChangedFraction:P1} of labels differ from the teacher without ΔW");
            IReadOnlyList<(int In, int Out)> tshapes = teacher.TargetShapes();
            // The teacher suites compare the adapter methods that can express a task-dependent ΔW's rank: LoRA (plain and
            // param-matched) and the routed ones.
            MethodSpec[] specs = [.. MainSpecs(tshapes, ts.Rank, ts.Experts).Where(s => s.Method == LoRAMethod.Instance.Name || AdapterMethods.Find(s.Method)?.DefaultConfig.IsRouted == true)];
            report.AddTeacher(variant, teacher.ChangedFraction, teacher.BaselineLoss(), specs);
            for (ulong seed = 0; seed < (ulong)ts.Seeds; seed++)
            {
                foreach (MethodSpec spec in specs)
                {
                    report.Add(Timed(Log, () => teacher.Run($"teacher-{variant}", spec, seed)));
                }
            }

            report.Save(output);
        }

        // 3. Ablations (1 seed; the main run's seed-0 MoR is the shared point).
        foreach (int experts in scale.ExpertAblation.Where(e => e != n))
        {
            report.Add(Timed(Log, () => suite.Run("ablation-N", new MethodSpec($"mor N={experts} r={r}", MoRMethod.Instance.Name, r, experts), 0, collectGates: true)));
        }

        foreach (int rank in scale.RankAblation.Where(x => x != r))
        {
            report.Add(Timed(Log, () => suite.Run("ablation-r", new MethodSpec($"mor N={n} r={rank}", MoRMethod.Instance.Name, rank, n), 0, collectGates: true)));
        }

        report.Save(output);
        if (scale.RouterAblation)
        {
            MethodSpec morSpec = main.First(s => s.Method == MoRMethod.Instance.Name);
            MethodSpec meanPooling = morSpec with { Label = $"mor N={n} r={r} mean pooling", Router = RouterMode.MeanPooling };
            MethodSpec balanced = morSpec with { Label = $"mor N={n} r={r} softmax + balance loss", Router = RouterMode.BalanceLoss };
            for (ulong seed = 0; seed < (ulong)scale.Seeds; seed++)
            {
                report.Add(Timed(Log, () => suite.Run("ablation-router", meanPooling, seed, collectGates: true)));
                report.Add(Timed(Log, () => suite.Run("ablation-router", balanced, seed, collectGates: true)));
            }
        }

        report.TotalSeconds = clock.Elapsed.TotalSeconds;
        string path = report.Save(output);
        console.Out.WriteLine($"wrote {path} ({clock.Elapsed.TotalMinutes:F1} min)");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// The comparison's rows: every registered method (so a new plug-in gets a row), LoRA also at the rank that matches
    /// MoR's parameter count, the other mixtures at the rank whose count is the paper's ratio to MoR's, and full
    /// fine-tuning last.
    /// </summary>
    private static IEnumerable<MethodSpec> MainSpecs(IReadOnlyList<(int In, int Out)> shapes, int r, int n)
    {
        long mor = ParameterBudget.Count(MoRMethod.Instance.Name, r, n, shapes);
        foreach (AdapterMethod m in AdapterMethods.All)
        {
            if (m == LoRAMethod.Instance)
            {
                yield return new($"lora r={r}", m.Name, r, 1);
                int matched = ParameterBudget.MatchLoRARank(mor, [.. shapes]);
                yield return new($"lora r={matched} (param-matched)", m.Name, matched, 1);
            }
            else if (m.DefaultConfig.IsRouted && m != MoRMethod.Instance)
            {
                int rank = ParameterBudget.MatchMoELoRARank(mor, n, [.. shapes]);
                yield return new($"{m.Name} N={n} r={rank}", m.Name, rank, n);
            }
            else
            {
                yield return new(m.DefaultConfig.IsRouted ? $"{m.Name} N={n} r={r}" : $"{m.Name} r={r}", m.Name, r, n);
            }
        }

        yield return new("full", AdapterMethods.FullFineTuning, r, 1);
    }

    private static RunResult Timed(Action<string> log, Func<RunResult> run)
    {
        RunResult r = run();
        string acc = double.IsNaN(r.MeanAccuracy) ? string.Empty : $" exact match {r.MeanAccuracy:P1} ({string.Join(", ", r.TaskAccuracy.Select(kv => $"{kv.Key} {kv.Value:P0}"))}),";
        log($"{r.Group} {r.Spec.Label} seed {r.Seed}:{acc} test loss {r.TestLoss:F4}, {r.TrainableParameters:N0} params, {r.TokensPerSecond:F0} tok/s, {r.Seconds:F1} s");
        return r;
    }
}
