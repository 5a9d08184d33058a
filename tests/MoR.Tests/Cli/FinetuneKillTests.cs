using System.Diagnostics;
using System.Text.Json.Nodes;
using MoR.IO;
using MoR.Tests.IO;
using MoR.Training;
using Xunit.Abstractions;

namespace MoR.Tests.Cli;

/// <summary>
/// A real <c>mor finetune</c> process SIGKILLed at 23 points of a run (every <see cref="TestPausePoints"/> point at least
/// once: inside steps, between the files of a checkpoint, while a checkpoint folder is renamed, replaced and pruned, after
/// the adapter is written), each time restarted the way a user would (<c>--resume</c> once a checkpoint exists), must end
/// with the adapter, the metrics and the last checkpoint of an uninterrupted run, bit for bit.
/// </summary>
public sealed class FinetuneKillTests(ITestOutputHelper output) : IDisposable
{
    private const int Steps = 8;
    private static readonly TimeSpan PauseLimit = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // The chain: each process is killed at its point and the next one resumes; the newest complete checkpoint the kill
    // leaves behind (0: none) is checked every time. Checkpoints every 2 steps (kept: 2), evaluation at 4 and 8. A point
    // is reachable only after the checkpoint the previous kill left, hence one kill per checkpoint past its rename.
    // Interrupted (SIGINT, as Ctrl-C) at step.logged@6 first, the process saves step 6 twice: the second save replaces
    // the first, which is the only way a checkpoint folder gets replaced.
    private static readonly Kill[] Chain =
    [
        new("step.begin@1", 0),
        new("step.backward-done@1", 0),
        new("step.applied@1", 0),
        new("step.logged@2", 0),
        new("checkpoint.begin@2", 0),
        new("checkpoint.parameters-written@2", 0),
        new("checkpoint.optimizer-written@2", 0),
        new("checkpoint.complete@2", 0),
        new("checkpoint.renamed@2", 2),
        new("step.begin@3", 2),
        new("step.logged@4", 2),
        new("eval.done@4", 2),
        new("checkpoint.complete@4", 2),
        new("checkpoint.pruned@4", 4),
        new("step.applied@5", 4),
        new("checkpoint.replace.old-moved-aside@6", 4, InterruptAt: "step.logged@6"),
        new("checkpoint.replace.new-in-place@6", 6, InterruptAt: "step.logged@6"),
        new("step.backward-done@7", 6),
        new("eval.done@8", 6),
        new("checkpoint.complete@8", 6),
        new("checkpoint.pruning@8", 8),
        new("run.finished@8", 8),
        new("finetune.adapter-saved@8", 8),
    ];

    [SkippableFact]
    public async Task KilledAtTwentyThreePointsAndResumedEndsBitIdenticalToAnUninterruptedRun()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "sends SIGINT with kill(1); the pause points themselves are portable");
        Assert.True(Chain.Select(k => k.Point).Distinct().Count() >= 20);
        string model = CliTests.TinyModel(_dir.Path);
        string data = _dir.File("data.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 48).Select(i =>
            $"{{\"prompt\":\"copy: {new string((char)('a' + (i % 5)), 1 + (i % 7))}\\n\",\"completion\":\"{new string((char)('a' + (i % 5)), 1 + (i % 7))}\"}}"));

        // Two lanes of the chain run side by side (a process is mostly single-threaded start-up), beside the reference run.
        // The second lane starts from nothing as well: its first process trains through step 2 before its first kill.
        var clock = Stopwatch.StartNew();
        string reference = _dir.File("reference");
        int split = Array.FindIndex(Chain, k => k.Point == "step.begin@3");
        string[] lanes = [_dir.File("killed-a"), _dir.File("killed-b")];
        await Task.WhenAll(
            Task.Run(() => RunToTheEndAsync(Finetune(model, data, reference))),
            Task.Run(() => KillAndResumeAsync(Chain[..split], model, data, lanes[0], clock)),
            Task.Run(() => KillAndResumeAsync(Chain[split..], model, data, lanes[1], clock)));
        output.WriteLine($"{Chain.Length} kills, {Chain.Length + 3} processes: {clock.Elapsed.TotalSeconds:F1} s");

        foreach (string killed in lanes)
        {
            AssertSameResult(reference, killed);
        }
    }

    private async Task KillAndResumeAsync(Kill[] kills, string model, string data, string killed, Stopwatch clock)
    {
        string checkpoints = Path.Combine(killed, "checkpoints");
        foreach (Kill kill in kills)
        {
            bool resume = TrainingCheckpoint.FindLatest(checkpoints) is not null;
            string[] args = [.. Finetune(model, data, killed), .. resume ? ["--resume"] : Array.Empty<string>()];
            await using Child child = Start(args, kill.InterruptAt is null ? kill.Point : $"{kill.InterruptAt},{kill.Point}");
            if (kill.InterruptAt is not null)
            {
                await child.WaitForLineAsync($"mor-test: paused at {kill.InterruptAt}");
                Interrupt(child.Id);
                await child.WaitForLineAsync("mor: interrupted");
                await child.ContinueAsync();
            }

            await child.WaitForLineAsync($"mor-test: paused at {kill.Point}");
            child.KillHard();
            string? latest = TrainingCheckpoint.FindLatest(checkpoints);
            int latestStep = latest is null ? 0 : TrainingCheckpoint.ReadState(latest).Step;
            output.WriteLine($"killed at {kill.Point}{(resume ? " (resumed)" : string.Empty)}: newest checkpoint {latestStep} ({clock.Elapsed.TotalSeconds:F1} s)");
            Assert.True(kill.NewestCheckpoint == latestStep, $"after a kill at {kill.Point} the newest checkpoint is {latestStep}, expected {kill.NewestCheckpoint}");
        }

        await RunToTheEndAsync([.. Finetune(model, data, killed), "--resume"]);
    }

    private async Task RunToTheEndAsync(string[] args)
    {
        await using Child run = Start(args, pauseAt: null);
        Assert.Equal(0, run.WaitForExitCode());
    }

    private static void AssertSameResult(string reference, string killed)
    {
        AssertSameTensors(Path.Combine(reference, "adapter", "adapter_model.safetensors"), Path.Combine(killed, "adapter", "adapter_model.safetensors"));
        Assert.Equal(File.ReadAllText(Path.Combine(reference, "adapter", "adapter_config.json")), File.ReadAllText(Path.Combine(killed, "adapter", "adapter_config.json")));
        Assert.Equal(MetricsWithoutTimings(reference), MetricsWithoutTimings(killed));

        // The checkpoints a reader sees (folders with trainer_state.json) are the reference's, and the last one is identical.
        // Temporaries and folders moved aside by the kills were removed by the next save; the half-pruned checkpoint-4
        // of the kill at checkpoint.pruning@8 has no state file (no reader lists it) and goes at the next save.
        string checkpoints = Path.Combine(killed, "checkpoints");
        Assert.Equal(Checkpoints(Path.Combine(reference, "checkpoints")), Checkpoints(checkpoints));
        Assert.Empty(Directory.EnumerateDirectories(checkpoints, ".checkpoint-*"));
        Assert.Empty(Directory.EnumerateDirectories(checkpoints, "checkpoint-*.old-*"));
        string last = TrainingCheckpoint.FindLatest(checkpoints)!;
        string referenceLast = TrainingCheckpoint.FindLatest(Path.Combine(reference, "checkpoints"))!;
        foreach (string file in (string[])["parameters.safetensors", "optimizer.safetensors", "trainer_state.json"])
        {
            Assert.True(
                File.ReadAllBytes(Path.Combine(referenceLast, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(last, file))),
                $"{file} of the last checkpoint differs from the uninterrupted run's");
        }
    }

    // SIGINT, what Ctrl-C sends: mor finishes the step and checkpoints.
    private static void Interrupt(int pid)
    {
        using Process kill = Process.Start(new ProcessStartInfo("kill", ["-INT", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    private static string[] Finetune(string model, string data, string output) =>
        ["finetune", "--model", model, "--data", data, "--output", output, "--method", "mor", "--rank", "4", "--experts", "2",
         "--steps", Steps.ToString(System.Globalization.CultureInfo.InvariantCulture), "--micro-batch", "2", "--seq-len", "32",
         "--lr", "1e-2", "--val-split", "0.1", "--seed", "5", "--save-every", "2", "--eval-every", "4", "--json"];

    private static string[] Checkpoints(string root) =>
        [.. Directory.EnumerateDirectories(root).Where(d => File.Exists(Path.Combine(d, "trainer_state.json"))).Select(Path.GetFileName).Order()!];

    // Every line of metrics.jsonl, without the fields that measure time.
    private static string[] MetricsWithoutTimings(string outputDirectory) =>
        [.. File.ReadAllLines(Path.Combine(outputDirectory, "metrics.jsonl")).Select(line =>
        {
            JsonObject o = JsonNode.Parse(line)!.AsObject();
            o.Remove("tokens_per_second");
            o.Remove("elapsed_s");
            o.Remove("eta_s");
            return o.ToJsonString();
        })];

    private static void AssertSameTensors(string expectedPath, string actualPath)
    {
        using SafeTensorsReader expected = SafeTensorsReader.Open(expectedPath);
        using SafeTensorsReader actual = SafeTensorsReader.Open(actualPath);
        Assert.Equal(expected.Tensors.Select(t => t.Name).Order(), actual.Tensors.Select(t => t.Name).Order());
        foreach (TensorInfo info in expected.Tensors)
        {
            Assert.True(expected.GetBytes(info.Name).SequenceEqual(actual.GetBytes(info.Name)), $"{info.Name} differs from the uninterrupted run's");
        }
    }

    private Child Start(string[] args, string? pauseAt)
    {
        string program = Path.Combine(AppContext.BaseDirectory, "MoR.Cli.dll");
        var start = new ProcessStartInfo(Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal) ? Environment.ProcessPath : "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(program);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        if (pauseAt is not null)
        {
            start.Environment[TestPausePoints.Variable] = pauseAt;
        }

        return new Child(Process.Start(start)!, output, $"mor finetune{(args.Contains("--resume") ? " --resume" : string.Empty)}{(pauseAt is null ? string.Empty : $" (pause at {pauseAt})")}");
    }

    private sealed record Kill(string Point, int NewestCheckpoint, string? InterruptAt = null);

    // A mor process whose stderr lines are watched for markers.
    private sealed class Child : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly ITestOutputHelper _output;
        private readonly string _title;
        private readonly List<string> _lines = [];
        private readonly SemaphoreSlim _newLine = new(0);
        private readonly Task _stdout;
        private readonly Task _stderr;

        public Child(Process process, ITestOutputHelper output, string title)
        {
            _process = process;
            _output = output;
            _title = title;
            _stdout = process.StandardOutput.ReadToEndAsync();
            _stderr = Task.Run(async () =>
            {
                while (await process.StandardError.ReadLineAsync() is string line)
                {
                    lock (_lines)
                    {
                        _lines.Add(line);
                    }

                    _newLine.Release();
                }

                _newLine.Release();
            });
        }

        public int Id => _process.Id;

        /// <summary>Waits until stderr has a line starting with <paramref name="prefix"/>; fails if the process ends or takes too long.</summary>
        public async Task WaitForLineAsync(string prefix)
        {
            using var limit = new CancellationTokenSource(PauseLimit);
            int seen = 0;
            while (true)
            {
                lock (_lines)
                {
                    for (; seen < _lines.Count; seen++)
                    {
                        if (_lines[seen].StartsWith(prefix, StringComparison.Ordinal))
                        {
                            return;
                        }
                    }
                }

                if (_stderr.IsCompleted)
                {
                    Assert.Fail($"{_title} ended (exit {(_process.HasExited ? _process.ExitCode : -1)}) before writing '{prefix}':{Environment.NewLine}{Log()}");
                }

                try
                {
                    await _newLine.WaitAsync(limit.Token);
                }
                catch (OperationCanceledException)
                {
                    Assert.Fail($"{_title} did not write '{prefix}' within {PauseLimit}:{Environment.NewLine}{Log()}");
                }
            }
        }

        /// <summary>Lets a paused process go on.</summary>
        public async Task ContinueAsync()
        {
            await _process.StandardInput.WriteLineAsync();
            await _process.StandardInput.FlushAsync();
        }

        /// <summary>SIGKILL, and waits until it is gone.</summary>
        public void KillHard()
        {
            _process.Kill();
            _process.WaitForExit();
        }

        public int WaitForExitCode()
        {
            if (!_process.WaitForExit(PauseLimit))
            {
                _process.Kill();
                Assert.Fail($"{_title} did not finish within {PauseLimit}:{Environment.NewLine}{Log()}");
            }

            _process.WaitForExit();
            if (_process.ExitCode != 0)
            {
                _output.WriteLine(Log());
            }

            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            await _process.WaitForExitAsync();
            await Task.WhenAll(_stdout, _stderr);
            _process.Dispose();
            _newLine.Dispose();
        }

        private string Log()
        {
            lock (_lines)
            {
                return string.Join(Environment.NewLine, _lines);
            }
        }
    }
}
