using System.CommandLine;

namespace MoR.Cli;

/// <summary>Options several commands share, and their parsing.</summary>
internal static class CommonOptions
{
    public static Option<string> Device() => new("--device")
    {
        Description = "cpu, cuda or cuda:N",
        DefaultValueFactory = _ => "cpu",
    };

    public static Option<bool> Json() => new("--json") { Description = "Machine-readable output: one JSON object per line on stdout" };

    /// <summary>Opens the device a <c>--device</c> value names; a malformed name is a usage error.</summary>
    public static MoR.Device OpenDevice(string text)
    {
        try
        {
            return MoR.Device.Parse(text);
        }
        catch (FormatException e)
        {
            throw new UsageException(e.Message);
        }
    }
}
