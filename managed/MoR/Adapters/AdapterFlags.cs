namespace MoR.Adapters;

/// <summary>The flags every method's config shares, and those of routed methods.</summary>
internal static class AdapterFlags
{
    /// <summary>Rank, alpha, dropout and target modules, with <paramref name="method"/>'s defaults.</summary>
    public static IReadOnlyList<AdapterOption> Common(AdapterMethod method)
    {
        AdapterConfig d = method.DefaultConfig;
        return
        [
            AdapterOption.Int<AdapterConfig>("--rank", "Adapter rank r", c => c.Rank, (c, v) => c with { Rank = v }, d) with { Aliases = ["-r"] },
            AdapterOption.Float<AdapterConfig>("--alpha", "alpha; adapters scale by alpha / r", c => c.Alpha, (c, v) => c with { Alpha = v }, d),
            AdapterOption.Float<AdapterConfig>(
                "--dropout", "Adapter dropout p (PEFT lora_dropout): drops the adapter path's input while training, in [0, 1)",
                c => c.Dropout, (c, v) => c with { Dropout = v }, d),
            new AdapterOption(
                "--target-modules", "Comma-separated module names, paths or regexes", string.Join(',', d.TargetModules),
                (c, text) => c with { TargetModules = [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)], TargetModulesPattern = null }),
        ];
    }

    /// <summary>The common flags plus experts, router initialisation and the router balance term.</summary>
    public static IReadOnlyList<AdapterOption> Routed(AdapterMethod method)
    {
        var d = (RoutedAdapterConfig)method.DefaultConfig;
        return
        [
            .. Common(method),
            AdapterOption.Int<RoutedAdapterConfig>("--experts", "Experts N", c => c.Experts, (c, v) => c with { Experts = v }, d),
            AdapterOption.Choice<RoutedAdapterConfig>(
                "--router-init", "How the router starts", ["normal", "zeros"], c => c.RouterInit == RouterInit.Zeros ? "zeros" : "normal",
                (c, v) => c with { RouterInit = v == "zeros" ? RouterInit.Zeros : RouterInit.Normal }, d),
            AdapterOption.Float<RoutedAdapterConfig>(
                "--router-balance-loss", "Router load-balancing loss coefficient: adds coef * N * sum_i P_i^2 (mean gates P) per routed layer; 0 = off",
                c => c.RouterBalanceLoss, (c, v) => c with { RouterBalanceLoss = v }, d),
        ];
    }
}
