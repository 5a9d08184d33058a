using MoR.Adapters;
using Xunit;

namespace MoR.Tests.Adapters;

/// <summary>
/// The registry as the tests see it: theories over every registered method (a method added to
/// <see cref="AdapterMethods.All"/> runs through them, and fails where a test has no float64 reference for it yet),
/// and configs built by name (unset sizes keep the method's defaults).
/// </summary>
internal static class TestAdapters
{
    /// <summary>Every registered adapter method's name.</summary>
    public static TheoryData<string> Methods => [.. AdapterMethods.All.Select(m => m.Name)];

    /// <summary>The routed methods (a router and experts) among them.</summary>
    public static TheoryData<string> RoutedMethods => [.. AdapterMethods.All.Where(m => m.DefaultConfig.IsRouted).Select(m => m.Name)];

    /// <summary>Every method, full fine-tuning included.</summary>
    public static TheoryData<string> MethodsAndFull => [.. AdapterMethods.Names];

    /// <summary>
    /// <paramref name="method"/>'s default config with these sizes; <paramref name="experts"/> is the method's N: the
    /// experts of a routed method, MELoRA's mini blocks.
    /// </summary>
    public static AdapterConfig Config(string method, int rank = 8, float? alpha = null, int experts = 8, float dropout = 0f, IReadOnlyList<string>? targets = null)
    {
        AdapterConfig c = AdapterMethods.Get(method).DefaultConfig with
        {
            Rank = rank,
            Alpha = alpha ?? AdapterMethods.Get(method).DefaultConfig.Alpha,
            Dropout = dropout,
            TargetModules = targets ?? AdapterConfig.DefaultTargetModules,
        };
        return c switch
        {
            RoutedAdapterConfig routed => routed with { Experts = experts },
            MELoRAConfig melora => melora with { Blocks = experts },
            _ => c,
        };
    }

    /// <summary>As <see cref="Config"/>, or null (full fine-tuning) for <c>full</c>.</summary>
    public static AdapterConfig? ConfigOrFull(string method, int rank = 8, float? alpha = null, int experts = 8, float dropout = 0f, IReadOnlyList<string>? targets = null) =>
        method == AdapterMethods.FullFineTuning ? null : Config(method, rank, alpha, experts, dropout, targets);
}
