using System.Runtime.InteropServices;

namespace MoR.Benchmarks;

/// <summary>Where a benchmark ran: enough to tell whether two sets of numbers are comparable.</summary>
/// <param name="Device">The device as on the command line (<c>cpu</c>, <c>cuda:0</c>).</param>
/// <param name="DeviceName">The device's name (the GPU's product name, or <c>cpu</c>).</param>
/// <param name="ProcessorName">The host CPU model, when the OS says (Linux <c>/proc/cpuinfo</c>, Windows environment).</param>
/// <param name="LogicalProcessors">Logical processors available to this process.</param>
/// <param name="OperatingSystem">The OS description.</param>
/// <param name="Runtime">The .NET runtime description.</param>
/// <param name="NativeBuild">The native library's build description (backends, BLAS).</param>
/// <param name="StartedUtc">When the run started.</param>
/// <param name="LoadAverage">The OS's 1-minute load average when the run started (Linux), against <paramref name="LogicalProcessors"/>: above it, other work was competing for the cores.</param>
public sealed record BenchmarkEnvironment(
    string Device,
    string DeviceName,
    string? ProcessorName,
    int LogicalProcessors,
    string OperatingSystem,
    string Runtime,
    string NativeBuild,
    DateTimeOffset StartedUtc,
    double? LoadAverage)
{
    /// <summary>Describes this process and <paramref name="device"/> now.</summary>
    public static BenchmarkEnvironment Capture(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return new BenchmarkEnvironment(
            device.ToString(),
            device.Name,
            ReadProcessorName(),
            Environment.ProcessorCount,
            RuntimeInformation.OSDescription,
            RuntimeInformation.FrameworkDescription,
            NativeDiagnostics.BuildInfo,
            DateTimeOffset.UtcNow,
            ReadLoadAverage());
    }

    private static double? ReadLoadAverage()
    {
        try
        {
            string? first = System.OperatingSystem.IsLinux() && File.Exists("/proc/loadavg")
                ? File.ReadAllText("/proc/loadavg").Split(' ')[0]
                : null;
            return double.TryParse(first, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double load)
                ? load
                : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string? ReadProcessorName()
    {
        try
        {
            if (System.OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
            {
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                {
                    if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is int colon and > 0)
                    {
                        return line[(colon + 1)..].Trim();
                    }
                }
            }

            return Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
