using System.CommandLine;
using System.Text.Json.Nodes;
using MoR.Adapters;

namespace MoR.Cli;

/// <summary>
/// <c>mor selftest</c>: the first thing to run on a new machine. Loads the native library (printing
/// every path tried when it cannot), shows the build and the backends, and checks every adapter's
/// gradients against finite differences on the chosen device.
/// </summary>
internal static class SelftestCommand
{
    public static Command Create(CliConsole console)
    {
        Option<string> device = CommonOptions.Device();
        Option<bool> json = CommonOptions.Json();
        var command = new Command("selftest", "Check the native library, the backends and the adapter gradients on a device") { device, json };
        command.SetAction(parse => Run(console, parse.GetValue(device)!, parse.GetValue(json)));
        return command;
    }

    private static int Run(CliConsole console, string deviceName, bool json)
    {
        string path;
        try
        {
            path = NativeDiagnostics.EnsureLoaded();
        }
        catch (MoR.Interop.NativeLibraryLoadException e)
        {
            console.Error.WriteLine($"mor: the native library did not load: {e.Message}");
            return ExitCodes.RuntimeError;
        }

        MoR.Device dev = CommonOptions.OpenDevice(deviceName);
        int cudaCount = MoR.Device.IsCudaAvailable ? MoR.Device.CudaDeviceCount : 0;
        var checks = new List<GradientCheck.Result>();
        foreach (AdapterMethod method in AdapterMethods.All)
        {
            checks.AddRange(GradientCheck.Run(dev, method));
        }

        bool passed = checks.All(c => c.Passed);
        if (json)
        {
            var checkArray = new JsonArray();
            foreach (GradientCheck.Result c in checks)
            {
                checkArray.Add(new JsonObject { ["adapter"] = c.Method.DisplayName, ["tensor"] = c.Tensor, ["max_error"] = c.MaxError, ["passed"] = c.Passed });
            }

            console.Out.WriteLine(new JsonObject
            {
                ["library"] = path,
                ["abi"] = NativeDiagnostics.AbiVersion,
                ["build"] = NativeDiagnostics.BuildInfo,
                ["cuda_devices"] = cudaCount,
                ["cuda_unavailable_reason"] = MoR.Device.CudaUnavailableReason,
                ["device"] = dev.ToString(),
                ["device_name"] = dev.Name,
                ["cpu_threads"] = MoR.Device.CpuThreads,
                ["gradient_checks"] = checkArray,
                ["passed"] = passed,
            }.ToJsonString());
        }
        else
        {
            TextWriter o = console.Out;
            o.WriteLine($"native library   {path}");
            o.WriteLine($"abi              {NativeDiagnostics.AbiVersion} (managed expects {NativeDiagnostics.ExpectedAbiVersion})");
            o.WriteLine($"build            {NativeDiagnostics.BuildInfo}");
            o.WriteLine($"backends         cpu: yes; cuda: {(cudaCount > 0 ? $"{cudaCount} device(s)" : $"no ({MoR.Device.CudaUnavailableReason})")}");
            o.WriteLine($"device           {dev} ({dev.Name})");
            o.WriteLine($"cpu threads      {MoR.Device.CpuThreads}");
            o.WriteLine("gradient check   analytic vs central finite differences, L = sum(c * y) (DoRA: A and B skipped, its norm is detached by design)");
            foreach (GradientCheck.Result c in checks)
            {
                o.WriteLine($"  {c.Method.DisplayName,-8} {c.Tensor,-22} {c.Checked,3} entries  max error {c.MaxError:E2}  {(c.Passed ? "ok" : "FAILED")}");
            }

            o.WriteLine(passed ? "selftest passed" : "selftest FAILED");
        }

        return passed ? ExitCodes.Ok : ExitCodes.RuntimeError;
    }
}
