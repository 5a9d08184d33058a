using MoR.Adapters;
using System.CommandLine;
using MoR.Model;
using MoR.Tokenization;

namespace MoR.Cli;

/// <summary>The <c>--model DIR [--adapter DIR]</c> pair the inference commands share, and opening it.</summary>
internal sealed class ModelOptions
{
    public Option<string> Model { get; } = new("--model") { Description = "Model folder (Hugging Face layout: config.json, *.safetensors, tokenizer)", Required = true };

    public Option<string?> Adapter { get; } = new("--adapter") { Description = "Adapter folder to apply (adapter_config.json, adapter_model.safetensors)" };

    public Option<string> Device { get; } = CommonOptions.Device();

    public void AddTo(Command command)
    {
        command.Add(Model);
        command.Add(Adapter);
        command.Add(Device);
    }

    /// <summary>Checks the folders exist (a usage error otherwise), loads the model frozen and attaches the adapter.</summary>
    public LlamaModel Open(ParseResult parse, CliConsole console)
    {
        string modelDir = parse.GetValue(Model)!;
        string? adapterDir = parse.GetValue(Adapter);
        MoR.Device device = CommonOptions.OpenDevice(parse.GetValue(Device)!);
        if (!Directory.Exists(modelDir))
        {
            throw new UsageException($"--model '{modelDir}' is not a folder.");
        }

        if (adapterDir is not null && !Directory.Exists(adapterDir))
        {
            throw new UsageException($"--adapter '{adapterDir}' is not a folder.");
        }

        LlamaModel model = LlamaModel.Load(modelDir, device);
        try
        {
            ReportWarnings(console, model);
            if (adapterDir is not null)
            {
                AdapterConfigFile config = AdapterFolder.Load(adapterDir, model);
                console.Error.WriteLine($"mor: adapter {config.Config} on {model.Linears.Values.Count(l => l.Adapter is not null)} modules from {adapterDir}");
            }

            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Prints what loading the model noticed but did not refuse, one "mor: warning:" line each, on stderr.</summary>
    public static void ReportWarnings(CliConsole console, LlamaModel model)
    {
        foreach (string warning in model.LoadWarnings)
        {
            console.Error.WriteLine($"mor: warning: {warning}");
        }
    }

    /// <summary>The tokenizer of the model folder, or null when it has none (pre-tokenised data still works).</summary>
    public static ITextTokenizer? TryTokenizer(string modelDir)
    {
        try
        {
            return TokenizerLoader.FromDirectory(modelDir);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }
}
