using System.Diagnostics;
using System.Globalization;
using MoR;
using MoR.Adapters;
using MoR.Distributed;
using MoR.Interop;
using MoR.IO;
using MoR.Modules;
using MoR.Numerics;

namespace MoR.DistributedTests;

/// <summary>
/// A LoRA adapter on a frozen 16→8 linear layer learning a fixed linear map by MSE with AdamW: the smallest
/// loop with the trainer's per-step sequence (forward, backward, <see cref="Communicator.AllReduceGradients"/>,
/// optimizer, zero) and its data order (<see cref="DataShard"/>). Sample i is a pure function of i, and
/// global step s uses micro-batches sK … sK+K−1, so K ranks with micro-batch b and one rank with
/// micro-batch K·b see the same samples per step.
/// </summary>
internal static class ToyTraining
{
    private const int DIn = 16;
    private const int DOut = 8;

    public static int Run(Communicator comm, string[] args)
    {
        int steps = Int(args, "--steps", 10);
        int micro = Int(args, "--micro", 4);
        int saveAt = Int(args, "--save-at", -1);
        int dieAt = Int(args, "--die-at", -1);
        string? checkpoint = Text(args, "--checkpoint");
        string? resume = Text(args, "--resume");
        string output = Text(args, "--out") ?? throw new ArgumentException("--out FILE is required");

        Device device = Device.Cpu;
        using var layer = new AdaptedLinear(
            new Linear("toy", Tensor.FromSpan<float>(device, Normal(1, DOut * DIn, 0.3), DOut, DIn)),
            new LoRAAdapter(device, DIn, DOut, new LoRAConfig { Rank = 4, Alpha = 8f }, seed: 2));
        IReadOnlyList<Parameter> parameters = layer.Adapter!.Parameters;
        var moments = parameters.Select(p => (M: Tensor.Zeros(device, DType.F32, p.Value.Shape), V: Tensor.Zeros(device, DType.F32, p.Value.Shape))).ToArray();
        float[] target = Normal(7, DOut * DIn, 0.3); // the map to learn, W* (DOut×DIn)

        int start = 0;
        if (resume is not null)
        {
            start = Load(resume, parameters, moments);
        }
        else if (comm.Rank != 0)
        {
            // Only the broadcast below makes the ranks agree: this proves it ran.
            parameters[0].Value.CopyFrom<float>(Normal(99 + (ulong)comm.Rank, (int)parameters[0].Numel, 1.0));
        }

        comm.Broadcast(parameters);
        layer.Adapter.OnParametersChanged();

        var shard = DataShard.For(comm);
        var clock = Stopwatch.StartNew();
        double lastLoss = 0;
        long microBatches = (long)(steps - start) * comm.Size;
        foreach (long m in shard.Select(Enumerable.Range(0, (int)microBatches).Select(i => (long)i + ((long)start * comm.Size))))
        {
            int step = (int)(m / comm.Size); // global step, 0-based
            if (step == dieAt && comm.Rank == 1)
            {
                Rank.Log(comm, $"killing myself at step {step}");
                Rank.KillSelf();
            }

            lastLoss = ForwardBackward(layer, target, m, micro, device);
            comm.AllReduceGradients(parameters);
            for (int i = 0; i < parameters.Count; i++)
            {
                AdamW(parameters[i], moments[i].M, moments[i].V, step + 1);
                parameters[i].ZeroGrad();
            }

            layer.Adapter.OnParametersChanged();
            if (step + 1 == saveAt && checkpoint is not null)
            {
                if (comm.IsRoot)
                {
                    Save(checkpoint, parameters, moments, step + 1);
                }

                comm.Barrier(); // nobody resumes from, or races past, a half-written checkpoint
            }
        }

        clock.Stop();
        if (comm.IsRoot)
        {
            var writer = new SafeTensorsWriter();
            writer.SetMetadata("steps", steps.ToString(CultureInfo.InvariantCulture));
            foreach (Parameter p in parameters)
            {
                writer.Add(p.Name, p.Value);
            }

            writer.Save(output);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"train: ranks {comm.Size}, micro-batch {micro}, steps {start}..{steps}, last loss {lastLoss:G6}, {clock.Elapsed.TotalMilliseconds / Math.Max(1, steps - start):F3} ms/step"));
        }

        foreach (var (m, v) in moments)
        {
            m.Dispose();
            v.Dispose();
        }

        return 0;
    }

    // Mean squared error over this micro-batch; dy = 2(y − t)/(B·DOut) so that averaging the ranks' gradients
    // gives the gradient of the mean over the global batch.
    private static double ForwardBackward(AdaptedLinear layer, float[] target, long microBatch, int b, Device device)
    {
        float[] x = new float[b * DIn];
        float[] t = new float[b * DOut];
        for (int s = 0; s < b; s++)
        {
            long sample = (microBatch * b) + s;
            float[] xs = Uniform(1000 + (ulong)sample, DIn);
            xs.CopyTo(x, s * DIn);
            for (int o = 0; o < DOut; o++)
            {
                double acc = 0;
                for (int i = 0; i < DIn; i++)
                {
                    acc += target[(o * DIn) + i] * xs[i];
                }

                t[(s * DOut) + o] = (float)acc;
            }
        }

        using Tensor xT = Tensor.FromSpan<float>(device, x, b, DIn);
        using Tensor yT = Tensor.Empty(device, DType.F32, b, DOut);
        layer.Forward(xT, yT, AdapterPass.Inference);
        float[] y = yT.ToArray<float>();
        float[] dy = new float[y.Length];
        double loss = 0;
        for (int i = 0; i < y.Length; i++)
        {
            float d = y[i] - t[i];
            loss += (double)d * d;
            dy[i] = 2f * d / (b * DOut);
        }

        using Tensor dyT = Tensor.FromSpan<float>(device, dy, b, DOut);
        layer.Backward(xT, dyT, null, AdapterPass.Inference);
        return loss / y.Length;
    }

    private static unsafe void AdamW(Parameter p, Tensor m, Tensor v, long step)
    {
        var hp = new MorAdamWParams { Lr = 0.01f, Beta1 = 0.9f, Beta2 = 0.999f, Eps = 1e-8f, WeightDecay = 0.01f, GradScale = 1f, Step = step };
        NativeCall.Check(
            NativeMethods.mor_adamw_step(p.Value.Device.Context, StreamHandle.Default, p.Numel, p.Value.Handle, p.Grad.Handle, m.Handle, v.Handle, &hp),
            nameof(NativeMethods.mor_adamw_step));
    }

    private static void Save(string path, IReadOnlyList<Parameter> parameters, (Tensor M, Tensor V)[] moments, int step)
    {
        var writer = new SafeTensorsWriter();
        writer.SetMetadata("step", step.ToString(CultureInfo.InvariantCulture));
        for (int i = 0; i < parameters.Count; i++)
        {
            writer.Add(parameters[i].Name, parameters[i].Value);
            writer.Add(parameters[i].Name + ".adam_m", moments[i].M);
            writer.Add(parameters[i].Name + ".adam_v", moments[i].V);
        }

        writer.Save(path);
    }

    private static int Load(string path, IReadOnlyList<Parameter> parameters, (Tensor M, Tensor V)[] moments)
    {
        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        for (int i = 0; i < parameters.Count; i++)
        {
            parameters[i].Value.CopyFrom(reader.GetSpan<float>(parameters[i].Name));
            moments[i].M.CopyFrom(reader.GetSpan<float>(parameters[i].Name + ".adam_m"));
            moments[i].V.CopyFrom(reader.GetSpan<float>(parameters[i].Name + ".adam_v"));
        }

        return int.Parse(reader.Metadata["step"], CultureInfo.InvariantCulture);
    }

    private static float[] Normal(ulong seed, int n, double std)
    {
        float[] values = new float[n];
        new SeededRandom(seed).FillNormal(values, std);
        return values;
    }

    private static float[] Uniform(ulong seed, int n)
    {
        float[] values = new float[n];
        new SeededRandom(seed).FillUniform(values, -1, 1);
        return values;
    }

    private static int Int(string[] args, string name, int fallback) =>
        Text(args, name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    private static string? Text(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
