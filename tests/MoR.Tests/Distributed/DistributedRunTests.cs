using System.Diagnostics;
using MoR.IO;
using MoR.Tests.Infrastructure;
using Xunit.Abstractions;

namespace MoR.Tests.Distributed;

/// <summary>
/// Several ranks for real: tests/MoR.DistributedTests started with <c>--nproc 2</c>, which goes through
/// <see cref="MoR.Distributed.MpiLauncher"/> to mpirun on this machine (shared memory between the ranks, launcher
/// traffic on loopback). Every run is bounded; a run past its limit is killed with its process tree and fails.
/// </summary>
public sealed class DistributedRunTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan RunLimit = TimeSpan.FromSeconds(120);
    private readonly string _dir = Directory.CreateTempSubdirectory("mor-dist-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [MpiFact]
    public async Task AllReduceAveragesExactlyAcrossTwoRanksWhateverTheBucketSize()
    {
        Run run = await RunAsync(["--nproc", "2", "allreduce"]);
        Assert.True(run.ExitCode == 0, run.Log);
        Assert.Contains("rank 0/2", run.Log);
        Assert.Contains("rank 1/2", run.Log);
        Assert.Equal(2, CountOf(run.Log, "allreduce ok"));
    }

    [MpiFact]
    public async Task TwoRanksWithMicroBatchBMatchOneRankWithMicroBatch2B()
    {
        string two = Path.Combine(_dir, "k2.safetensors");
        string one = Path.Combine(_dir, "k1.safetensors");
        Run k2 = await RunAsync(["--nproc", "2", "train", "--steps", "12", "--micro", "4", "--out", two]);
        Assert.True(k2.ExitCode == 0, k2.Log);
        Run k1 = await RunAsync(["train", "--steps", "12", "--micro", "8", "--out", one]);
        Assert.True(k1.ExitCode == 0, k1.Log);
        AssertSameParameters(one, two);
    }

    [MpiFact]
    public async Task ARankThatDiesMakesThePeerFailWithTheTimeoutMessage()
    {
        // mpirun told not to tear the job down when a rank dies: the survivor must notice by itself (as it
        // must when a remote node vanishes), report it and end the job through MPI_Abort.
        var clock = Stopwatch.StartNew();
        Run run = await RunAsync(
            ["--nproc", "2", "train", "--steps", "50", "--micro", "4", "--out", Path.Combine(_dir, "x"), "--die-at", "3"],
            ("MOR_COMM_TIMEOUT_S", "5"), ("MOR_MPIRUN_ARGS", "--mca orte_abort_on_non_zero_status 0"));
        clock.Stop();
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("killing myself at step 3", run.Log);
        Assert.Contains("rank 0: all-reduce of", run.Log);
        Assert.Contains("timed out after 5 s (a peer rank probably died", run.Log);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }

    [MpiFact]
    public async Task ARankThatDiesEndsTheJobUnderTheDefaultLauncherOptions()
    {
        var clock = Stopwatch.StartNew();
        Run run = await RunAsync(
            ["--nproc", "2", "train", "--steps", "50", "--micro", "4", "--out", Path.Combine(_dir, "x"), "--die-at", "3"],
            ("MOR_COMM_TIMEOUT_S", "30"));
        clock.Stop();
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("killing myself at step 3", run.Log);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }

    [MpiFact]
    public async Task ACheckpointWrittenByTwoRanksResumesOnOne()
    {
        string checkpoint = Path.Combine(_dir, "step6.safetensors");
        Run first = await RunAsync(
            ["--nproc", "2", "train", "--steps", "6", "--micro", "4", "--save-at", "6", "--checkpoint", checkpoint, "--out", Path.Combine(_dir, "k2-6")]);
        Assert.True(first.ExitCode == 0, first.Log);
        string resumed = Path.Combine(_dir, "resumed.safetensors");
        Run second = await RunAsync(["train", "--steps", "12", "--micro", "8", "--resume", checkpoint, "--out", resumed]);
        Assert.True(second.ExitCode == 0, second.Log);
        Assert.Contains("steps 6..12", second.Log);
        string straight = Path.Combine(_dir, "straight.safetensors");
        Run reference = await RunAsync(["train", "--steps", "12", "--micro", "8", "--out", straight]);
        Assert.True(reference.ExitCode == 0, reference.Log);
        AssertSameParameters(straight, resumed);
    }

    // Summation order differs (two partial means vs one), so bits may differ: each element within 1e-6 of its
    // tensor's largest magnitude (observed: about 2e-7 after 20 AdamW steps).
    private static void AssertSameParameters(string expectedPath, string actualPath)
    {
        using SafeTensorsReader expected = SafeTensorsReader.Open(expectedPath);
        using SafeTensorsReader actual = SafeTensorsReader.Open(actualPath);
        Assert.Equal(expected.Tensors.Select(t => t.Name).Order(), actual.Tensors.Select(t => t.Name).Order());
        foreach (TensorInfo info in expected.Tensors)
        {
            ReadOnlySpan<float> e = expected.GetSpan<float>(info.Name);
            ReadOnlySpan<float> a = actual.GetSpan<float>(info.Name);
            Assert.Equal(e.Length, a.Length);
            float scale = 0;
            foreach (float x in e)
            {
                scale = Math.Max(scale, Math.Abs(x));
            }

            Assert.True(scale > 0, $"{info.Name} is all zeros: the run did not train");
            for (int i = 0; i < e.Length; i++)
            {
                Assert.True(Math.Abs(e[i] - a[i]) <= 1e-6 * scale, $"{info.Name}[{i}]: {e[i]} vs {a[i]} (scale {scale})");
            }
        }
    }

    private static int CountOf(string text, string part)
    {
        int count = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private async Task<Run> RunAsync(string[] args, params (string Name, string Value)[] environment)
    {
        string program = Path.Combine(AppContext.BaseDirectory, "MoR.DistributedTests.dll");
        Assert.True(File.Exists(program), $"{program} is missing: MoR.Tests references tests/MoR.DistributedTests to build it alongside.");
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

        start.Environment["MOR_COMM_TIMEOUT_S"] = "60"; // a broken test fails in a minute instead of five
        foreach ((string name, string value) in environment)
        {
            start.Environment[name] = value;
        }

        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(RunLimit);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{string.Join(' ', args)} did not finish within {RunLimit}:{Environment.NewLine}{await stdout}{await stderr}");
        }

        string log = $"$ {string.Join(' ', args)} -> {process.ExitCode}{Environment.NewLine}{await stdout}{await stderr}";
        output.WriteLine(log);
        return new Run(process.ExitCode, log);
    }

    private sealed record Run(int ExitCode, string Log);
}
