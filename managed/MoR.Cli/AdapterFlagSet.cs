using System.CommandLine;
using MoR.Adapters;

namespace MoR.Cli;

/// <summary>
/// <c>mor finetune</c>'s adapter flags, built from the registry: the union of every method's declared flags
/// (<see cref="AdapterMethod.Options"/>), one command-line option per name. The chosen method's flags are applied to its
/// default config; a flag it does not declare is a usage error that names the methods it belongs to.
/// </summary>
internal sealed class AdapterFlagSet
{
    private readonly List<(Option<string> Option, IReadOnlyList<AdapterMethod> Methods)> _flags;

    private AdapterFlagSet(List<(Option<string> Option, IReadOnlyList<AdapterMethod> Methods)> flags) => _flags = flags;

    /// <summary>One option per flag name declared by any registered method.</summary>
    public static AdapterFlagSet Create()
    {
        var flags = new List<(Option<string>, IReadOnlyList<AdapterMethod>)>();
        foreach (IGrouping<string, (AdapterMethod Method, AdapterOption Flag)> byName in AdapterMethods.All
                     .SelectMany(m => m.Options.Select(o => (Method: m, Flag: o)))
                     .GroupBy(x => x.Flag.Name, StringComparer.Ordinal))
        {
            AdapterMethod[] methods = [.. byName.Select(x => x.Method)];
            AdapterOption first = byName.First().Flag;
            string scope = methods.Length == AdapterMethods.All.Count ? string.Empty : $" ({string.Join(", ", methods.Select(m => m.Name))})";
            string[] defaults = [.. byName.Select(x => x.Flag.DefaultText).Distinct(StringComparer.Ordinal)];
            string shown = defaults.Length == 1 ? $" [default: {defaults[0]}]" : string.Empty;
            var option = new Option<string>(byName.Key, [.. first.Aliases]) { Description = first.Description + scope + shown };
            flags.Add((option, methods));
        }

        return new AdapterFlagSet(flags);
    }

    /// <summary>Adds every flag to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach ((Option<string> option, _) in _flags)
        {
            command.Add(option);
        }
    }

    /// <summary>The config of <paramref name="methodName"/> with the given flags applied; null for full fine-tuning.</summary>
    /// <exception cref="UsageException">A flag does not apply to the method, or its value is malformed.</exception>
    public AdapterConfig? Config(ParseResult parse, string methodName)
    {
        AdapterConfig? config = AdapterMethods.DefaultConfig(methodName);
        foreach ((Option<string> option, IReadOnlyList<AdapterMethod> methods) in _flags)
        {
            if (parse.GetResult(option) is not { Implicit: false } || parse.GetValue(option) is not { } text)
            {
                continue;
            }

            AdapterOption? flag = config?.Method.Options.FirstOrDefault(o => o.Name == option.Name);
            if (config is null || flag is null)
            {
                throw new UsageException($"{option.Name} does not apply to --method {methodName}; it is a flag of {string.Join(", ", methods.Select(m => m.Name))}.");
            }

            try
            {
                config = flag.Apply(config, text);
            }
            catch (FormatException e)
            {
                throw new UsageException(e.Message);
            }
        }

        return config;
    }
}
