using MoR.Tests.Infrastructure;

namespace MoR.Tests;

/// <summary>
/// The native GoogleTest suite (built by NativeBuild.targets) as part of `dotnet test`, one xunit case per
/// GoogleTest test: a GTEST_SKIP is an xunit skip with its reason, a failure fails that case. The executable runs
/// once per variant (<see cref="NativeSuiteRun"/>); the cases read its report.
/// </summary>
public sealed class NativeSuiteTests
{
    /// <summary>
    /// The built-in CPU GEMM (MOR_BLAS_LIBRARY=builtin, which machines without OpenBLAS use) under the tests whose
    /// results go through it: every GEMM case but the 2.5 s one of 16 MiB BF16 blocks (a widening layer above the
    /// same sgemm), the adapter ops, the transformer ops and attention (whose score and value products are GEMMs),
    /// and the build description, which names the GEMM in use and so proves the variable took effect.
    /// </summary>
    public const string BuiltinGemmFilter =
        "Gemm.*:Lora.*:Mor.*:MoeLora.*:Dora.*:Reference.*:RmsNorm.*:SwiGlu.*:CrossEntropy.*:Embedding.*:AdamW.*:" +
        "Attention.KvCacheQueriesSeeThePrefix:Attention.FusedQkvAndPaddedCacheLayoutsMatchDense:Library.AbiVersionAndBuildInfo" +
        "-Gemm.WidenedBf16OperandsSpanSeveralBlocksInEitherRoleAndLayout";

    private static readonly Lazy<Task<NativeSuiteRun>> s_suite =
        new(() => NativeSuiteRun.RunAsync("*", new Dictionary<string, string>()));

    private static readonly Lazy<Task<NativeSuiteRun>> s_builtinGemm =
        new(() => NativeSuiteRun.RunAsync(BuiltinGemmFilter, new Dictionary<string, string> { ["MOR_BLAS_LIBRARY"] = "builtin" }));

    /// <summary>Every test of the suite, DISABLED_ ones included (they are reported as skipped).</summary>
    public static TheoryData<string> SuiteTests => [.. NativeSuiteRun.List()];

    /// <summary>The tests of <see cref="BuiltinGemmFilter"/>.</summary>
    public static TheoryData<string> BuiltinGemmTests => [.. NativeSuiteRun.List(BuiltinGemmFilter)];

    [SkippableTheory]
    [MemberData(nameof(SuiteTests))]
    public async Task GoogleTest(string test) => Report(test, await s_suite.Value);

    [SkippableTheory]
    [MemberData(nameof(BuiltinGemmTests))]
    public async Task GoogleTestWithTheBuiltinCpuGemm(string test) => Report(test, await s_builtinGemm.Value);

    [Fact]
    public async Task TheSuiteRunsToTheEndAndReportsEveryListedTest()
    {
        NativeSuiteRun run = await s_suite.Value;
        Assert.True(run.Problem is null, $"{run.Problem}{Environment.NewLine}{run.Log}");
        IReadOnlyList<string> listed = NativeSuiteRun.List();
        Assert.Equal(listed.Count, run.Count);
        Assert.All(listed, name => Assert.NotEqual(NativeTestOutcome.Failed, run[name].Outcome));
        Assert.True(run.ExitCode == 0, $"exit code {run.ExitCode} with no failed test in the report:{Environment.NewLine}{run.Log}");
    }

    private static void Report(string test, NativeSuiteRun run)
    {
        Assert.False(test.StartsWith('!'), test[1..]); // the listing itself failed: the message says why
        NativeTestResult result = run[test];
        Skip.If(result.Outcome == NativeTestOutcome.Skipped, result.Message);
        Assert.True(result.Outcome == NativeTestOutcome.Passed, $"{test} failed:{Environment.NewLine}{result.Message}");
    }
}
