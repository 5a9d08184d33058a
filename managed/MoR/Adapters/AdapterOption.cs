namespace MoR.Adapters;

/// <summary>
/// A flag a method's config declares (<see cref="AdapterMethod.Options"/>): <c>mor finetune</c> offers the union of
/// every registered method's flags and applies those of the chosen method. Methods that share a flag (<c>--rank</c>;
/// <c>--experts</c> of MoR and MoE-LoRA) declare it with the same name.
/// </summary>
/// <param name="Name">The flag, e.g. <c>--experts</c>.</param>
/// <param name="Description">One line of help.</param>
/// <param name="DefaultText">The default, as help shows it.</param>
/// <param name="Apply">The config with the flag's value applied; throws <see cref="FormatException"/> naming the flag for a malformed value.</param>
public sealed record AdapterOption(string Name, string Description, string DefaultText, Func<AdapterConfig, string, AdapterConfig> Apply)
{
    /// <summary>Short forms of the flag (e.g. <c>-r</c>).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>An integer flag.</summary>
    public static AdapterOption Int<TConfig>(string name, string description, Func<TConfig, int> get, Func<TConfig, int, TConfig> set, TConfig defaults)
        where TConfig : AdapterConfig =>
        new(name, description, Format(get(defaults)), (c, text) => set((TConfig)c, ParseInt(name, text)));

    /// <summary>A number flag.</summary>
    public static AdapterOption Float<TConfig>(string name, string description, Func<TConfig, float> get, Func<TConfig, float, TConfig> set, TConfig defaults)
        where TConfig : AdapterConfig =>
        new(name, description, Format(get(defaults)), (c, text) => set((TConfig)c, ParseFloat(name, text)));

    /// <summary>A flag with a fixed set of values.</summary>
    public static AdapterOption Choice<TConfig>(
        string name, string description, IReadOnlyList<string> values, Func<TConfig, string> get, Func<TConfig, string, TConfig> set, TConfig defaults)
        where TConfig : AdapterConfig =>
        new(name, $"{description} ({string.Join(" | ", values)})", get(defaults), (c, text) =>
            values.Contains(text, StringComparer.Ordinal)
                ? set((TConfig)c, text)
                : throw new FormatException($"{name} must be one of {string.Join(", ", values)}; got '{text}'."));

    private static string Format(IFormattable value) => value.ToString(null, System.Globalization.CultureInfo.InvariantCulture);

    private static int ParseInt(string name, string text) =>
        int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int v)
            ? v
            : throw new FormatException($"{name} needs an integer; got '{text}'.");

    private static float ParseFloat(string name, string text) =>
        float.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float v) && float.IsFinite(v)
            ? v
            : throw new FormatException($"{name} needs a number; got '{text}'.");
}
