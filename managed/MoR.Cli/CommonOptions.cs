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

    /// <summary><c>--chat-format</c>: a built-in chat format instead of the model's own <c>chat_template</c>.</summary>
    public static Option<string?> ChatFormat()
    {
        var option = new Option<string?>("--chat-format")
        {
            Description = "template | llama2 | llama3 | chatml | zephyr | mistral (default: the model's own chat_template from tokenizer_config.json)",
        };
        option.AcceptOnlyFromAmong([.. MoR.Tokenization.ChatFormats.Names]);
        return option;
    }

    /// <summary>
    /// <c>--threads N</c>, accepted by every command: the CPU backend's thread count (<see cref="MoR.Device.CpuThreads"/>).
    /// </summary>
    public static Option<int?> Threads() => new("--threads")
    {
        Description = "CPU threads to compute with (default: the CPUs this process may use; results do not depend on it)",
        Recursive = true,
    };

    /// <summary>Applies a <c>--threads</c> value; outside 1..<see cref="MoR.Device.MaxCpuThreads"/> is a usage error.</summary>
    public static void SetThreads(int count)
    {
        if (count < 1 || count > MoR.Device.MaxCpuThreads)
        {
            throw new UsageException($"--threads must be between 1 and {MoR.Device.MaxCpuThreads}, got {count}.");
        }

        MoR.Device.CpuThreads = count;
    }

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
