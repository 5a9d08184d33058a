using MoR.Distributed;
using MoR.Modules;

namespace MoR.Tests.Distributed;

/// <summary>The single-rank communicator and the launcher's command line; several ranks: <see cref="DistributedRunTests"/>.</summary>
public sealed class CommunicatorTests
{
    [Fact]
    public void ASingleRankLeavesGradientsAndValuesAlone()
    {
        using Communicator comm = Communicator.CreateSingle();
        Assert.Equal(0, comm.Rank);
        Assert.Equal(1, comm.Size);
        Assert.False(comm.IsDistributed);
        using var p = new Parameter("w", Tensor.FromSpan<float>(Device.Cpu, [1f, 2f, 3f]), weightDecay: false);
        p.Grad.CopyFrom<float>([0.5f, -1f, 4f]);
        comm.AllReduceGradients([p]);
        comm.Broadcast([p]);
        comm.Barrier();
        Assert.Equal([0.5f, -1f, 4f], p.Grad.ToArray<float>());
        Assert.Equal([1f, 2f, 3f], p.Value.ToArray<float>());
    }

    [Fact]
    public void FromEnvironmentIsSingleRankOutsideMpirun()
    {
        Assert.False(Communicator.LaunchedByMpi, "the test host itself is not an MPI rank");
        using Communicator comm = Communicator.FromEnvironment();
        Assert.False(comm.IsDistributed);
    }

    [Fact]
    public void BucketsHoldAtLeastOneFloat() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Communicator.CreateSingle(bucketBytes: 2));

    [Fact]
    public void NprocIsTakenOutOfTheArguments()
    {
        string[] args = ["train", "--nproc", "4", "--steps", "3"];
        Assert.Equal(4, MpiLauncher.TakeProcessCount(ref args));
        Assert.Equal(["train", "--steps", "3"], args);

        args = ["--nproc=2", "x"];
        Assert.Equal(2, MpiLauncher.TakeProcessCount(ref args));
        Assert.Equal(["x"], args);

        args = ["x"];
        Assert.Null(MpiLauncher.TakeProcessCount(ref args));

        string[] bad = ["--nproc", "zero"];
        Assert.Throws<FormatException>(() => MpiLauncher.TakeProcessCount(ref bad));
        string[] missing = ["--nproc"];
        Assert.Throws<FormatException>(() => MpiLauncher.TakeProcessCount(ref missing));
    }

    [Fact]
    public void OneRankRunsInThisProcess()
    {
        string[] args = ["--nproc", "1", "train"];
        Assert.Null(MpiLauncher.LaunchIfRequested(ref args));
        Assert.Equal(["train"], args);
    }

    [Fact]
    public void TheMpirunCommandLineCarriesTheLocalOptionsThenTheProgramAndItsArguments()
    {
        var start = MpiLauncher.BuildStartInfo(3, ["train", "--steps", "2"], mpirun: "/opt/mpi/bin/mpirun");
        Assert.Equal("/opt/mpi/bin/mpirun", start.FileName);
        string[] argv = [.. start.ArgumentList];
        Assert.Equal(["-np", "3"], argv[..2]);
        Assert.Equal(MpiLauncher.LocalOptions, argv[2..(2 + MpiLauncher.LocalOptions.Count)]);
        Assert.Contains("--allow-run-as-root", argv);
        Assert.Equal(["train", "--steps", "2"], argv[^3..]);
        if (Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is not { Length: > 0 } &&
            Environment.GetEnvironmentVariable(MpiLauncher.ThreadCountVariable) is not { Length: > 0 })
        {
            Assert.Equal(
                Math.Max(1, Environment.ProcessorCount / 3).ToString(System.Globalization.CultureInfo.InvariantCulture),
                start.Environment[MpiLauncher.ThreadCountVariable]);
        }
    }
}
