using System.Globalization;
using System.Text;
using MoR.Benchmarks;

namespace MoR.Bench;

/// <summary>The quick mode's one table: ours next to TorchSharp, with the ratios the notes quote.</summary>
internal static class QuickTable
{
    public static string Format(QuickReport report)
    {
        var text = new StringBuilder();
        BenchmarkEnvironment? env = report.Gemm?.Environment ?? report.Layer?.Environment;
        if (env is not null)
        {
            Line(text, $"# {env.Device} ({env.ProcessorName ?? env.DeviceName}, {env.LogicalProcessors} logical processors{BenchmarkTable.LoadText(env)}), {env.Runtime}");
            Line(text, $"# MoRNative: {env.NativeBuild}");
        }

        Line(text, $"# peer: {report.TorchSharp}");
        Line(text, $"# times: median (min) over the timed iterations; other work on the machine makes them noisy");
        if (report.Gemm is { } gemm)
        {
            FormatGemm(text, gemm, report.TorchGemm);
        }

        if (report.Layer is { } layer)
        {
            FormatLayer(text, layer, report.TorchLayer);
        }

        return text.ToString();
    }

    private static void FormatGemm(StringBuilder text, GemmBenchmarkReport gemm, IReadOnlyList<GemmResult> torch)
    {
        int iterations = gemm.Results.Count > 0 ? gemm.Results[0].Timing.Iterations : 0;
        Line(text, $"");
        Line(text, $"## GEMM y = x·Wᵀ, x [M,K] F32, W [N,K]; GFLOP/s at the median (at the min); {iterations} iterations after {gemm.Warmup} warm-up");
        Line(text, $"{"M x K x N",-16} {"W",-5} {"MoRNative GFLOP/s",-20} {"TorchSharp GFLOP/s",-20} {"ours/TorchSharp",15}");
        for (int i = 0; i < gemm.Results.Count; i++)
        {
            GemmResult ours = gemm.Results[i];
            GemmResult? peer = i < torch.Count ? torch[i] : null;
            string peerText = peer is null ? "n/a" : Gflops(peer);
            string ratio = peer is null ? "n/a" : Ratio(ours.GflopsAtMedian / peer.GflopsAtMedian);
            Line(text, $"{ours.Shape,-16} {ours.WeightDType,-5} {Gflops(ours),-20} {peerText,-20} {ratio,15}");
        }
    }

    private static void FormatLayer(StringBuilder text, LayerBenchmarkReport layer, IReadOnlyList<TorchLayerResult> torch)
    {
        LayerBenchmarkOptions o = layer.Options;
        TimingSummary? Peer(TorchLayerMethod m) => torch.FirstOrDefault(r => r.Method == m)?.Timing;
        TimingSummary? peerBase = Peer(TorchLayerMethod.Base);
        string PeerOverhead(TimingSummary? t) =>
            t is null || peerBase is null ? "" : BenchmarkTable.Percent(100 * (t.MedianMs - peerBase.MedianMs) / peerBase.MedianMs);

        Line(text, $"");
        Line(text, $"## layer fwd+bwd: T={o.T} d_in={o.DIn} d_out={o.DOut} N={o.N} r={o.R}, base {o.BaseDType}; ms, median (min); {o.Iterations} iterations after {o.Warmup} warm-up");
        Line(text, $"{"method",-16} {"MoRNative ms",-18} {"overhead",9} {"FLOP floor",10}   {"TorchSharp + autograd",-34} {"ms",-18} {"overhead",9} {"ours faster",11}");
        foreach (LayerResult ours in layer.Results)
        {
            // Methods without a TorchSharp formulation here get "n/a" (peers for new methods are optional).
            (string name, TorchLayerMethod m)[] peers = PeerMethods.GetValueOrDefault(ours.Method) ?? [("(no TorchSharp peer)", (TorchLayerMethod)(-1))];
            string overhead = ours.Method == LayerBenchmarkOptions.Base ? "-" : BenchmarkTable.Percent(ours.OverheadPercent);
            string floor = ours.Method == LayerBenchmarkOptions.Base ? "-" : BenchmarkTable.Percent(ours.FlopFloorPercent);
            for (int p = 0; p < peers.Length; p++)
            {
                TimingSummary? t = Peer(peers[p].m);
                string left = p == 0
                    ? Invariant($"{BenchmarkTable.Describe(ours.Method),-16} {Ms(ours.Timing),-18} {overhead,9} {floor,10}")
                    : new string(' ', 16 + 1 + 18 + 1 + 9 + 1 + 10);
                string right = t is null
                    ? Invariant($"{"n/a",-34}")
                    : Invariant($"{peers[p].name,-34} {Ms(t),-18} {PeerOverhead(t),9} {Ratio(t.MedianMs / ours.Timing.MedianMs),11}");
                Line(text, $"{left}   {right}");
            }
        }

        Line(text, $"");
        LayerResult mor = layer["mor"], moe = layer["moe-lora"];
        Line(text, $"MoR overhead over the frozen base: {BenchmarkTable.Percent(mor.OverheadPercent)} (FLOP floor {BenchmarkTable.Percent(mor.FlopFloorPercent)}; target <= 15%: {(mor.OverheadPercent <= 15 ? "met" : "NOT met")})");
        if (Peer(TorchLayerMethod.MoRPerExpert) is { } naive && Peer(TorchLayerMethod.MoRRankExpanded) is { } expanded)
        {
            double vsNaive = naive.MedianMs / mor.Timing.MedianMs, vsExpanded = expanded.MedianMs / mor.Timing.MedianMs;
            Line(text, $"MoR speed-up over TorchSharp MoR: {Ratio(vsNaive)} vs one term per expert, {Ratio(vsExpanded)} vs rank-expanded (target >= 1.5x: {(Math.Min(vsNaive, vsExpanded) >= 1.5 ? "met by both" : vsNaive >= 1.5 ? "met vs per-expert only" : "NOT met")})");
        }

        double cheaper = 100 * (moe.Timing.MedianMs - mor.Timing.MedianMs) / moe.Timing.MedianMs;
        Line(text, $"MoR vs MoE-LoRA (same N, r): {mor.Timing.MedianMs:F1} ms vs {moe.Timing.MedianMs:F1} ms, MoR {(cheaper >= 0 ? "cheaper" : "dearer")} by {Math.Abs(cheaper):F1}% (adapter FLOPs: {mor.FlopFloorPercent:F1}% vs {moe.FlopFloorPercent:F1}% of the base)");
    }

    // Our layer rows and the TorchSharp formulations they are compared with.
    private static readonly Dictionary<string, (string Name, TorchLayerMethod Method)[]> PeerMethods = new(StringComparer.Ordinal)
    {
        [LayerBenchmarkOptions.Base] = [("frozen base", TorchLayerMethod.Base)],
        ["lora"] = [("LoRA", TorchLayerMethod.LoRA)],
        ["moe-lora"] = [("MoE-LoRA, loop over experts", TorchLayerMethod.MoELoRA)],
        ["mor"] = [("MoR, one term per expert", TorchLayerMethod.MoRPerExpert), ("MoR, rank-expanded P·Qᵀ", TorchLayerMethod.MoRRankExpanded)],
    };

    private static string Gflops(GemmResult r) => Invariant($"{r.GflopsAtMedian:F1} ({r.GflopsAtBest:F1})");

    private static string Ms(TimingSummary t) => Invariant($"{t.MedianMs:F1} ({t.MinMs:F1})");

    private static string Ratio(double r) => Invariant($"{r:F2}x");

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static void Line(StringBuilder text, FormattableString line) => text.Append(Invariant(line)).Append('\n');
}
