using System.CommandLine;
using MoR.Model;

namespace MoR.Cli;

/// <summary>The sampling flags <c>generate</c> and <c>chat</c> share.</summary>
internal sealed class SamplingOptions
{
    public Option<int> MaxNewTokens { get; } = new("--max-new-tokens") { Description = "The most tokens to generate", DefaultValueFactory = _ => 128 };

    public Option<float> Temperature { get; } = new("--temperature") { Description = "Softmax temperature; 0 = greedy", DefaultValueFactory = _ => 0f };

    public Option<int> TopK { get; } = new("--top-k") { Description = "Sample among the k most likely tokens; 0 = off", DefaultValueFactory = _ => 0 };

    public Option<float> TopP { get; } = new("--top-p") { Description = "Nucleus sampling probability in (0, 1]; 1 = off", DefaultValueFactory = _ => 1f };

    public Option<ulong> Seed { get; } = new("--seed") { Description = "Sampling seed (same seed, same output)", DefaultValueFactory = _ => 0UL };

    public void AddTo(Command command)
    {
        command.Add(MaxNewTokens);
        command.Add(Temperature);
        command.Add(TopK);
        command.Add(TopP);
        command.Add(Seed);
    }

    /// <summary>The options, validated before any model is loaded (a bad value is a usage error).</summary>
    public GenerationOptions Read(ParseResult parse)
    {
        var options = new GenerationOptions
        {
            MaxNewTokens = parse.GetValue(MaxNewTokens),
            Temperature = parse.GetValue(Temperature),
            TopK = parse.GetValue(TopK),
            TopP = parse.GetValue(TopP),
            Seed = parse.GetValue(Seed),
        };
        if (options.Temperature < 0)
        {
            throw new UsageException($"--temperature must be >= 0; got {options.Temperature}.");
        }

        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            string message = e.Message.Split(" (Parameter", 2)[0]
                .Replace("MaxNewTokens", "--max-new-tokens", StringComparison.Ordinal)
                .Replace("TopK", "--top-k", StringComparison.Ordinal)
                .Replace("TopP", "--top-p", StringComparison.Ordinal)
                .Replace("Temperature", "--temperature", StringComparison.Ordinal);
            throw new UsageException(message);
        }

        return options;
    }
}
