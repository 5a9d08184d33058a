namespace MoR.Cli;

/// <summary>
/// Gives ScottPlot a font that is installed. Its default family is the platform's default typeface, which can be
/// missing: under Wine, SkiaSharp's DirectWrite font manager lists the installed families but returns an empty
/// default typeface, and a minimal Linux image may have no fontconfig default. Every title, label and tick is then
/// drawn with no font, and the PNG has no text (docs/WINDOWS.md).
/// </summary>
internal static class PlotFonts
{
    private static readonly Lazy<bool> Usable = new(ChooseInstalledDefault);

    /// <summary>Whether plots can draw text: the default font exists, or an installed one replaced it.</summary>
    public static bool HasFont => Usable.Value;

    /// <summary>A new plot whose text uses an installed font when there is one.</summary>
    public static ScottPlot.Plot NewPlot()
    {
        _ = Usable.Value;  // plots copy the default font name into their labels when they are built
        return new ScottPlot.Plot();
    }

    private static bool ChooseInstalledDefault()
    {
        string current = ScottPlot.Fonts.Default;
        if (!string.IsNullOrEmpty(current) && ScottPlot.Fonts.GetTypeface(current, bold: false, italic: false) is { GlyphCount: > 0 })
        {
            return true;
        }

        string[] families = [.. SkiaSharp.SKFontManager.Default.FontFamilies.Where(f => !string.IsNullOrWhiteSpace(f))];
        string? pick = families.FirstOrDefault(f => f.Contains("Sans", StringComparison.OrdinalIgnoreCase) && !f.Contains("Mono", StringComparison.OrdinalIgnoreCase))
                       ?? families.FirstOrDefault();
        if (pick is null)
        {
            return false;
        }

        ScottPlot.Fonts.Default = pick;
        ScottPlot.Fonts.Sans = pick;
        return true;
    }
}
