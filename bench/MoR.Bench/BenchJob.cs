using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace MoR.Bench;

/// <summary>
/// The BenchmarkDotNet setup both classes share. In-process: BenchmarkDotNet's default generates and builds
/// a project per run, which would rebuild the native library and re-copy TorchSharp's unpatched binaries;
/// in-process the LD_PRELOAD and the patched libraries of this process apply. Few iterations: a layer
/// step is ~0.5 s on two cores, and each class should finish in minutes.
/// </summary>
internal static class BenchJob
{
    public static ManualConfig Create(int warmup, int iterations, bool oneCallPerIteration)
    {
        Job job = Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(warmup)
            .WithIterationCount(iterations)
            .WithUnrollFactor(1)
            .WithId(oneCallPerIteration ? "InProcess-1call" : "InProcess");
        if (oneCallPerIteration)
        {
            job = job.WithInvocationCount(1);  // otherwise BenchmarkDotNet's pilot stage picks it
        }

        return ManualConfig.Create(DefaultConfig.Instance).AddJob(job);
    }
}
