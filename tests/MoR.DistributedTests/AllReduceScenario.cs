using MoR;
using MoR.Distributed;
using MoR.Modules;

namespace MoR.DistributedTests;

/// <summary>
/// Gradients chosen so that every sum and mean is exact in F32 (small integers times powers of two): the
/// all-reduced result must equal the expected mean bit for bit, whatever the bucket size, which is what
/// proves that buckets split and join parameters without losing or moving an element.
/// </summary>
internal static class AllReduceScenario
{
    private static readonly int[] s_sizes = [7, 250, 33, 1, 1000];

    // 7 floats ends a bucket exactly at the first parameter's end; 64 splits the 250 and 1000 across
    // buckets and packs the small ones together; 4096 and the default hold everything in one.
    private static readonly long[] s_bucketBytes = [28, 256, 4096, Communicator.DefaultBucketBytes];

    public static int Run(Communicator comm)
    {
        int failures = 0;
        foreach (long bucketBytes in s_bucketBytes)
        {
            using Communicator c = comm.IsDistributed ? Communicator.CreateMpi(bucketBytes) : Communicator.CreateSingle(bucketBytes);
            failures += CheckGradientMean(c);
            failures += CheckBroadcast(c);
        }

        using (Tensor t = Tensor.FromSpan<float>(Device.Cpu, [comm.Rank + 1f, 2f * (comm.Rank + 1)]))
        {
            comm.AllReduceSum(t);
            float expected = comm.Size * (comm.Size + 1) / 2f;
            failures += Expect(t.ToArray<float>().SequenceEqual([expected, 2 * expected]), comm, "AllReduceSum(Tensor)");
        }

        comm.Barrier();
        Rank.Log(comm, failures == 0 ? "allreduce ok" : $"allreduce FAILED ({failures} checks)");
        return failures == 0 ? 0 : 1;
    }

    private static float Base(int p, int i) => ((i % 97) + p) * 0.25f;

    private static int CheckGradientMean(Communicator c)
    {
        List<Parameter> ps = Make(c.Rank, (p, i) => 0f);
        try
        {
            for (int p = 0; p < ps.Count; p++)
            {
                float[] g = new float[s_sizes[p]];
                for (int i = 0; i < g.Length; i++)
                {
                    g[i] = (c.Rank + 1) * Base(p, i);
                }

                ps[p].Grad.CopyFrom<float>(g);
            }

            c.AllReduceGradients(ps);
            float meanFactor = (c.Size + 1) / 2f; // mean of 1..K
            int bad = 0;
            for (int p = 0; p < ps.Count; p++)
            {
                float[] g = ps[p].Grad.ToArray<float>();
                for (int i = 0; i < g.Length; i++)
                {
                    if (BitConverter.SingleToInt32Bits(g[i]) != BitConverter.SingleToInt32Bits(meanFactor * Base(p, i)))
                    {
                        bad++;
                    }
                }
            }

            return Expect(bad == 0, c, $"gradient mean with {c.BucketElements}-float buckets ({bad} wrong elements)");
        }
        finally
        {
            ps.ForEach(p => p.Dispose());
        }
    }

    private static int CheckBroadcast(Communicator c)
    {
        List<Parameter> ps = Make(c.Rank, (p, i) => (c.Rank * 1000f) + i + p);
        try
        {
            c.Broadcast(ps);
            int bad = 0;
            for (int p = 0; p < ps.Count; p++)
            {
                float[] v = ps[p].Value.ToArray<float>();
                for (int i = 0; i < v.Length; i++)
                {
                    bad += v[i] == i + p ? 0 : 1;
                }
            }

            return Expect(bad == 0, c, $"broadcast with {c.BucketElements}-float buckets ({bad} wrong elements)");
        }
        finally
        {
            ps.ForEach(p => p.Dispose());
        }
    }

    private static List<Parameter> Make(int rank, Func<int, int, float> value)
    {
        var ps = new List<Parameter>();
        for (int p = 0; p < s_sizes.Length; p++)
        {
            float[] v = new float[s_sizes[p]];
            for (int i = 0; i < v.Length; i++)
            {
                v[i] = value(p, i);
            }

            ps.Add(new Parameter($"p{p}", Tensor.FromSpan<float>(Device.Cpu, v), weightDecay: false));
        }

        return ps;
    }

    private static int Expect(bool ok, Communicator c, string what)
    {
        if (!ok)
        {
            Rank.Log(c, "FAILED: " + what);
        }

        return ok ? 0 : 1;
    }
}
