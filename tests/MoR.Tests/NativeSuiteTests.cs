using System.Diagnostics;
using MoR.Tests.Infrastructure;
using Xunit.Abstractions;

namespace MoR.Tests;

/// <summary>Runs the native GoogleTest suite (built by NativeBuild.targets) as part of `dotnet test`.</summary>
public sealed class NativeSuiteTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(15);

    [Fact]
    public async Task TheGoogleTestSuitePasses()
    {
        string executable = RepositoryLayout.NativeTestExecutable;
        Assert.True(
            File.Exists(executable),
            $"{executable} is missing. `dotnet build` builds it through CMake (interop/MoR.Interop/NativeBuild.targets) " +
            "unless MorSkipNativeBuild=true or MOR_NATIVE_PATH is set; GoogleTest (libgtest-dev) must be installed.");

        var start = new ProcessStartInfo(executable, "--gtest_brief=1")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(executable)!,
        };
        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{executable} did not finish within {Timeout}.{Environment.NewLine}{await stdout}{await stderr}");
        }

        string log = (await stdout) + (await stderr);
        output.WriteLine(log);
        Assert.True(process.ExitCode == 0, $"{executable} --gtest_brief=1 exited with {process.ExitCode}:{Environment.NewLine}{log}");
    }
}
