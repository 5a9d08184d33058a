using System.Diagnostics;
using System.Globalization;
using MoR;
using MoR.Distributed;
using MoR.Interop;
using MoR.DistributedTests;

// Every rank runs the same scenario; `--nproc K` relaunches this program as K ranks under mpirun.
//   allreduce                       sums, means, bucket split/join and broadcast checked on every rank
//   train --steps N --micro B --out FILE [--save-at S --checkpoint FILE] [--resume FILE] [--die-at S]
//   bench-allreduce [--floats N] [--iters I]   time AllReduceGradients on one parameter (docs/SCALING.md)
// Exit codes: 0 ok, 1 a check failed, 2 usage, 3 a communication error (the job is aborted).
int? launched = MpiLauncher.LaunchIfRequested(ref args);
if (launched is not null)
{
    return launched.Value;
}

if (args.Length == 0)
{
    Console.Error.WriteLine("usage: MoR.DistributedTests [--nproc K] allreduce | train --steps N --micro B --out FILE ...");
    return 2;
}

using Communicator comm = Communicator.FromEnvironment(
    long.Parse(Option(args, "--bucket-bytes") ?? Communicator.DefaultBucketBytes.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
try
{
    return args[0] switch
    {
        "allreduce" => AllReduceScenario.Run(comm),
        "train" => ToyTraining.Run(comm, args),
        "bench-allreduce" => AllReduceBenchmark.Run(comm, args),
        _ => Usage(args[0]),
    };
}
catch (CommunicationException e)
{
    // The peers' state is unknown: a normal shutdown would wait for them. End the whole job.
    Console.Error.WriteLine($"rank {comm.Rank}: communication failed: {e.Message}");
    comm.Abort(3);
    return 3;
}

static int Usage(string mode)
{
    Console.Error.WriteLine($"unknown mode '{mode}'");
    return 2;
}

static string? Option(string[] args, string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

internal static class Rank
{
    public static void Log(Communicator comm, string message) =>
        Console.Error.WriteLine($"rank {comm.Rank}/{comm.Size} [{Environment.ProcessId}] {message}");

    public static void KillSelf()
    {
        Console.Error.Flush();
        Process.GetCurrentProcess().Kill();
    }
}
