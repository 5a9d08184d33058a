using System.Diagnostics;
using System.Text.Json;
using MoR.Cli;
using MoR.Tests.Cli;
using MoR.IO;
using MoR.Model;
using MoR.Tests.Infrastructure;
using MoR.Tokenization;
using Xunit.Abstractions;

namespace MoR.Tests.Distributed;

/// <summary>
/// The real <c>mor finetune</c> (a tiny LlamaModel, MoR adapters, the real Trainer) as 2 ranks under mpirun
/// (<c>dotnet MoR.Cli.dll --nproc 2 finetune ...</c>, i.e. Program.Main's MpiLauncher), against the same command
/// on one rank in-process. Every mpirun is bounded (<see cref="RunLimit"/>, then its process tree is killed), and
/// <c>MOR_COMM_TIMEOUT_S</c> is small so a broken run fails in seconds instead of hanging.
/// </summary>
public sealed class DistributedFinetuneTests(ITestOutputHelper output) : IDisposable
{
    private const int Steps = 6;
    private static readonly TimeSpan RunLimit = TimeSpan.FromSeconds(150);
    private readonly string _dir = Directory.CreateTempSubdirectory("mor-dp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [MpiFact]
    public async Task TwoRanksTrainLikeOneRankOnTheSameRowsAndCheckpointsMoveBetweenRankCounts()
    {
        (string model, string data) = Inputs();

        // 2 ranks × micro-batch 2, checkpoints at steps 3 and 6.
        string k2 = Path.Combine(_dir, "k2");
        Run two = await RunMorAsync(["--nproc", "2", .. Finetune(model, data, k2, micro: 2), "--save-every", "3", "--json"]);
        Assert.True(two.ExitCode == 0, two.Log);

        // Rank 0 alone reported and wrote: one line per step and one result on stdout, one metrics line per step.
        string[] lines = two.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Steps, lines.Count(l => l.Contains("\"type\":\"step\"", StringComparison.Ordinal)));
        Assert.Single(lines, l => l.Contains("\"type\":\"result\"", StringComparison.Ordinal));
        Assert.Equal(Steps, File.ReadAllLines(Path.Combine(k2, "metrics.jsonl")).Count(l => l.Contains("\"type\":\"step\"", StringComparison.Ordinal)));
        Assert.Contains("2 ranks x 2 x 1 rows", two.Log, StringComparison.Ordinal);
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(k2, "training_config.json"))))
        {
            Assert.Equal(2, config.RootElement.GetProperty("ranks").GetInt32());
        }

        // 1 rank × micro-batch 2 × accumulation 2: the same micro-batches, each computed alone, and the two
        // gradients added (accumulation) instead of all-reduced (sum, then the exact ×½ of K/T · 1/K): bit for bit.
        string accumulated = Path.Combine(_dir, "accumulated");
        string oneAccumulated = RunInProcess([.. Finetune(model, data, accumulated, micro: 2), "--grad-accum", "2", "--save-every", "3", "--json"]);
        AssertSameAdapter(accumulated, k2, tolerance: _ => 0);
        AssertSameSteps(oneAccumulated, two.Stdout, lossTolerance: 1e-6, normTolerance: 0); // the loss crosses ranks as F32

        // 1 rank × micro-batch 4: the same rows per step; the mean over them is the same (checked by the loss and by
        // the global gradient norm, which at step 1 sees identical parameters, so any normalisation error shows).
        // The same comparison on one rank alone: OneRankAccumulationMatchesALargerMicroBatchAndResumesBitExactly.
        string k1 = Path.Combine(_dir, "k1");
        string oneRank = RunInProcess([.. Finetune(model, data, k1, micro: 4), "--json"]);
        AssertSameSteps(oneRank, two.Stdout, lossTolerance: 1e-6, normTolerance: 1e-6);
        AssertSameAdapter(k1, k2, tolerance: BatchingTolerance);

        // The K=2 checkpoint of step 3 (global data cursor, no per-rank state) resumed on one rank.
        string resumed = ResumableCopy(k2, "resumed-k1");
        string log = RunInProcess([.. Finetune(model, data, resumed, micro: 2), "--grad-accum", "2", "--resume"], json: false);
        Assert.Contains("at step 3", log, StringComparison.Ordinal);
        AssertSameAdapter(accumulated, resumed, tolerance: _ => 0);
        resumed = ResumableCopy(k2, "resumed-k1-micro4");
        RunInProcess([.. Finetune(model, data, resumed, micro: 4), "--resume"], json: false);
        AssertSameAdapter(k1, resumed, tolerance: BatchingTolerance);

        // And the other way: a one-rank checkpoint resumed on two ranks.
        resumed = ResumableCopy(accumulated, "resumed-k2");
        Run again = await RunMorAsync(["--nproc", "2", .. Finetune(model, data, resumed, micro: 2), "--resume"]);
        Assert.True(again.ExitCode == 0, again.Log);
        Assert.Contains("at step 3", again.Log, StringComparison.Ordinal);
        AssertSameAdapter(k2, resumed, tolerance: _ => 0);
    }

    [Fact]
    public void OneRankAccumulationMatchesALargerMicroBatchAndResumesBitExactly()
    {
        // The single-rank halves of the two-rank test above, which need no mpirun.
        (string model, string data) = Inputs();

        // Micro-batch 2 × accumulation 2 against micro-batch 4: the same rows per step, the same mean loss and
        // gradient norm (to the rounding of a different summation order), the same adapter to BatchingTolerance.
        string accumulated = Path.Combine(_dir, "accumulated");
        string twoByTwo = RunInProcess([.. Finetune(model, data, accumulated, micro: 2), "--grad-accum", "2", "--save-every", "3", "--json"]);
        string k1 = Path.Combine(_dir, "k1");
        string four = RunInProcess([.. Finetune(model, data, k1, micro: 4), "--json"]);
        AssertSameSteps(four, twoByTwo, lossTolerance: 1e-6, normTolerance: 1e-6);
        AssertSameAdapter(k1, accumulated, tolerance: BatchingTolerance);

        // `mor finetune --resume` from the checkpoint of step 3: bit for bit the uninterrupted run.
        string resumed = ResumableCopy(accumulated, "resumed");
        string log = RunInProcess([.. Finetune(model, data, resumed, micro: 2), "--grad-accum", "2", "--resume"], json: false);
        Assert.Contains("at step 3", log, StringComparison.Ordinal);
        AssertSameAdapter(accumulated, resumed, tolerance: _ => 0);

        // The same checkpoint resumed with micro-batch 4 continues as the micro-batch-4 run would have.
        resumed = ResumableCopy(accumulated, "resumed-micro4");
        RunInProcess([.. Finetune(model, data, resumed, micro: 4), "--resume"], json: false);
        AssertSameAdapter(k1, resumed, tolerance: BatchingTolerance);
    }

    [MpiFact]
    public async Task ARankThatDiesMakesTheOtherEndTheJobWithAClearError()
    {
        // mpirun is told not to end the job itself when a rank dies, so the survivor has to notice (the collective
        // deadline, MOR_COMM_TIMEOUT_S), report it and abort — what happens when a remote node vanishes.
        (string model, string data) = Inputs();
        string tag = Guid.NewGuid().ToString("N");
        var clock = Stopwatch.StartNew();
        Run run = await RunMorAsync(
            ["--nproc", "2", .. Finetune(model, data, Path.Combine(_dir, "dies"), micro: 2, steps: 100_000), "--json"],
            onStdoutLine: line =>
            {
                if (line.Contains("\"step\":2,", StringComparison.Ordinal))
                {
                    KillRank(tag, rank: 1);
                }
            },
            ("MOR_TEST_TAG", tag), ("MOR_COMM_TIMEOUT_S", "5"), ("MOR_MPIRUN_ARGS", "--mca orte_abort_on_non_zero_status 0"));
        clock.Stop();
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("killed rank 1", run.Log, StringComparison.Ordinal);
        Assert.Contains("mor: error: rank 0 of 2: communication failed (a peer rank died or hung)", run.Log, StringComparison.Ordinal);
        Assert.Contains("timed out after 5 s", run.Log, StringComparison.Ordinal);
        Assert.Contains("mor: aborting all 2 ranks", run.Log, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"took {clock.Elapsed}");
    }

    [Fact]
    public void NprocInProcessIsAUsageErrorNamingTheExecutable()
    {
        (int code, _, string stderr) = CliRunner.Run("finetune", "--model", "m", "--data", "d", "--nproc", "2");
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains("--nproc K is taken by the mor executable", stderr, StringComparison.Ordinal);
    }

    // Micro-batch 4 versus 2 + 2 changes the order of floating-point sums (on one rank too: see the accumulated run).
    // That alone is ~1e-7 relative in the gradients, and the losses and gradient norms agree to 1e-6 (observed ~2e-8).
    // But MoR's router gradient starts as a small difference of nearly equal terms (lora_B starts at zero), so its
    // relative rounding error is large, and AdamW's m/√v, being scale-free, turns that into update differences of up
    // to about lr per step: measured here 2.5e-3 of the router tensor's largest element after 6 steps (the same on one
    // rank alone), 2e-6 for every other tensor. Hence 5e-3 for routers and 1e-5 for the rest.
    private static double BatchingTolerance(string tensor) => tensor.Contains("mor_router", StringComparison.Ordinal) ? 5e-3 : 1e-5;

    private string RunInProcess(string[] args, bool json = true)
    {
        (int code, string stdout, string stderr) = CliRunner.Run(args);
        output.WriteLine($"$ mor (in-process) {string.Join(' ', args)} -> {code}{Environment.NewLine}{stdout}{stderr}");
        Assert.True(code == ExitCodes.Ok, stderr);
        return json ? stdout : stdout + stderr;
    }

    // A new output folder holding only checkpoint 3 of `from`, so that --resume continues from step 3.
    private string ResumableCopy(string from, string name)
    {
        string to = Path.Combine(_dir, name);
        string checkpoint = Path.Combine("checkpoints", "checkpoint-00000003");
        CopyDirectory(Path.Combine(from, checkpoint), Path.Combine(to, checkpoint));
        return to;
    }

    private static string[] Finetune(string model, string data, string output, int micro, int steps = Steps) =>
        ["finetune", "--model", model, "--data", data, "--output", output, "--method", "mor", "--rank", "4", "--experts", "2",
         "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture), "--micro-batch", micro.ToString(System.Globalization.CultureInfo.InvariantCulture),
         "--seq-len", "32", "--lr", "1e-2", "--val-split", "0.1", "--seed", "5"];

    private (string Model, string Data) Inputs()
    {
        string dir = Path.Combine(_dir, "base");
        var config = new LlamaConfig
        {
            HiddenSize = 32,
            IntermediateSize = 64,
            NumHiddenLayers = 2,
            NumAttentionHeads = 2,
            VocabSize = ByteTokenizer.Instance.VocabSize,
            MaxPositionEmbeddings = 128,
            BosTokenId = ByteTokenizer.Bos,
            EosTokenIds = [ByteTokenizer.Eos],
        };
        using (LlamaModel m = LlamaModel.CreateRandom(config, Device.Cpu, seed: 3, trainable: false))
        {
            m.Save(dir, DType.F32);
        }

        ByteTokenizer.Save(dir);

        // Examples of different lengths: the two ranks' shards hold different numbers of target tokens, which is
        // where a per-rank mean would differ from the single-rank mean.
        string data = Path.Combine(_dir, "data.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 60).Select(i =>
            $"{{\"prompt\":\"copy: {new string((char)('a' + (i % 5)), 1 + (i % 9))}\\n\",\"completion\":\"{new string((char)('a' + (i % 5)), 1 + (i % 9))}\"}}"));
        return (dir, data);
    }

    // Every element within tolerance(tensor name) of its tensor's largest magnitude (0: bit for bit).
    private void AssertSameAdapter(string expectedOutput, string actualOutput, Func<string, double> tolerance)
    {
        using SafeTensorsReader expected = SafeTensorsReader.Open(Path.Combine(expectedOutput, "adapter", "adapter_model.safetensors"));
        using SafeTensorsReader actual = SafeTensorsReader.Open(Path.Combine(actualOutput, "adapter", "adapter_model.safetensors"));
        Assert.Equal(expected.Tensors.Select(t => t.Name).Order(), actual.Tensors.Select(t => t.Name).Order());
        double worst = 0, worstOther = 0;
        string worstName = string.Empty;
        foreach (TensorInfo info in expected.Tensors)
        {
            float[] e = expected.GetSpan<float>(info.Name).ToArray();
            float[] a = actual.GetSpan<float>(info.Name).ToArray();
            Assert.Equal(e.Length, a.Length);
            float scale = e.Max(Math.Abs);
            Assert.True(scale > 0, $"{info.Name} is all zeros");
            for (int i = 0; i < e.Length; i++)
            {
                double relative = Math.Abs(e[i] - a[i]) / scale;
                if (relative > worst)
                {
                    (worst, worstName) = (relative, info.Name);
                }

                if (!info.Name.Contains("mor_router", StringComparison.Ordinal))
                {
                    worstOther = Math.Max(worstOther, relative);
                }

                Assert.True(relative <= tolerance(info.Name), $"{Path.GetFileName(actualOutput)} vs {Path.GetFileName(expectedOutput)}: {info.Name}[{i}]: {e[i]} vs {a[i]} (scale {scale})");
            }
        }

        output.WriteLine($"{Path.GetFileName(actualOutput)} vs {Path.GetFileName(expectedOutput)}: largest difference {worst:E2} of the tensor's scale ({worstName}); {worstOther:E2} outside the routers");
    }

    // Rank 0 logs the global loss (all-reduced) and the global gradient norm (after the gradient all-reduce).
    private static void AssertSameSteps(string expectedJsonLines, string actualJsonLines, double lossTolerance, double normTolerance)
    {
        static (double Loss, double Norm)[] Steps(string text) => [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.Contains("\"type\":\"step\"", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Select(r => (r.GetProperty("loss").GetDouble(), r.GetProperty("grad_norm").GetDouble()))];
        (double Loss, double Norm)[] e = Steps(expectedJsonLines), a = Steps(actualJsonLines);
        Assert.Equal(e.Length, a.Length);
        for (int i = 0; i < e.Length; i++)
        {
            Assert.True(Math.Abs(e[i].Loss - a[i].Loss) <= lossTolerance * Math.Abs(e[i].Loss), $"step {i + 1}: loss {e[i].Loss} vs {a[i].Loss}");
            Assert.True(Math.Abs(e[i].Norm - a[i].Norm) <= normTolerance * Math.Abs(e[i].Norm), $"step {i + 1}: gradient norm {e[i].Norm} vs {a[i].Norm}");
        }
    }

    // Finds the rank by its environment (the launcher's environment reaches local ranks; the tag is this test's).
    private void KillRank(string tag, int rank)
    {
        foreach (string proc in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), out int pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            string[] environment;
            try
            {
                environment = File.ReadAllText(Path.Combine(proc, "environ")).Split('\0');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            if (environment.Contains($"MOR_TEST_TAG={tag}") && environment.Contains($"OMPI_COMM_WORLD_RANK={rank}"))
            {
                using Process victim = Process.GetProcessById(pid);
                victim.Kill();
                output.WriteLine($"killed rank {rank} (pid {pid})");
                _killLog += $"killed rank {rank} (pid {pid}){Environment.NewLine}";
                return;
            }
        }
    }

    private string _killLog = string.Empty;

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }

    private async Task<Run> RunMorAsync(string[] args, params (string Name, string Value)[] environment) =>
        await RunMorAsync(args, onStdoutLine: null, environment);

    private async Task<Run> RunMorAsync(string[] args, Action<string>? onStdoutLine, params (string Name, string Value)[] environment)
    {
        string program = Path.Combine(AppContext.BaseDirectory, "MoR.Cli.dll");
        Assert.True(File.Exists(program), $"{program} is missing: MoR.Tests references managed/MoR.Cli.");
        var start = new ProcessStartInfo(Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal) ? Environment.ProcessPath : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(program);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["MOR_COMM_TIMEOUT_S"] = "30"; // a broken run fails in half a minute instead of five
        foreach ((string name, string value) in environment)
        {
            start.Environment[name] = value;
        }

        using Process process = Process.Start(start)!;
        var stdout = new System.Text.StringBuilder();
        Task readOut = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is string line)
            {
                lock (stdout)
                {
                    stdout.AppendLine(line);
                }

                onStdoutLine?.Invoke(line);
            }
        });
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(RunLimit);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{string.Join(' ', args)} did not finish within {RunLimit}:{Environment.NewLine}{stdout}{await stderr}");
        }

        await readOut;
        string log = $"$ mor {string.Join(' ', args)} -> {process.ExitCode}{Environment.NewLine}{_killLog}{stdout}{await stderr}";
        output.WriteLine(log);
        return new Run(process.ExitCode, stdout.ToString(), log);
    }

    private sealed record Run(int ExitCode, string Stdout, string Log);
}
