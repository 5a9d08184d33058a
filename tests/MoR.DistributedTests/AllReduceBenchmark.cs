using System.Diagnostics;
using System.Globalization;
using MoR;
using MoR.Distributed;
using MoR.Modules;

namespace MoR.DistributedTests;

/// <summary>Times <see cref="Communicator.AllReduceGradients"/> on one CPU parameter: the numbers in docs/SCALING.md.</summary>
internal static class AllReduceBenchmark
{
    public static int Run(Communicator comm, string[] args)
    {
        int floats = Int(args, "--floats", 1 << 20);
        int iters = Int(args, "--iters", 20);
        using var p = new Parameter("g", Tensor.Zeros(Device.Cpu, DType.F32, floats), weightDecay: false);
        p.Grad.Fill(1);
        comm.AllReduceGradients([p]); // warm-up: bucket allocation, MPI connection set-up
        comm.Barrier();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < iters; i++)
        {
            comm.AllReduceGradients([p]);
        }

        clock.Stop();
        if (comm.IsRoot)
        {
            double ms = clock.Elapsed.TotalMilliseconds / iters;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"all-reduce: ranks {comm.Size}, {floats} floats ({floats * 4.0 / 1e6:F1} MB), {ms:F3} ms, {floats * 4.0 / ms / 1e6:F2} GB/s algorithm bandwidth"));
        }

        return 0;
    }

    private static int Int(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
