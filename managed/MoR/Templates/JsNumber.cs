using System.Globalization;
using System.Text;

namespace MoR.Templates;

/// <summary>
/// Numbers as the reference engine (JavaScript) prints and parses them: template numbers are IEEE doubles, printed
/// with ECMAScript's Number.prototype.toString (shortest round-trip digits, exponent form below 1e-6 and from 1e21).
/// </summary>
internal static class JsNumber
{
    /// <summary>ECMAScript <c>Number::toString</c>.</summary>
    /// <param name="value">The number.</param>
    /// <returns>E.g. <c>3</c>, <c>0.1</c>, <c>1e-7</c>, <c>1.5e+21</c>, <c>NaN</c>, <c>-Infinity</c>.</returns>
    public static string Format(double value)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "Infinity" : "-Infinity";
        }

        if (value == 0)
        {
            return "0";
        }

        string sign = value < 0 ? "-" : string.Empty;

        // "R" gives the shortest round-trip digits; read them as digits d1..dk and exponent n with value = 0.d1…dk × 10^n.
        (string digits, int n) = Decompose(Math.Abs(value).ToString("R", CultureInfo.InvariantCulture));
        int k = digits.Length;
        var sb = new StringBuilder(sign);
        if (k <= n && n <= 21)
        {
            sb.Append(digits).Append('0', n - k);
        }
        else if (0 < n && n <= 21)
        {
            sb.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        }
        else if (-6 < n && n <= 0)
        {
            sb.Append("0.").Append('0', -n).Append(digits);
        }
        else
        {
            sb.Append(digits[0]);
            if (k > 1)
            {
                sb.Append('.').Append(digits, 1, k - 1);
            }

            int e = n - 1;
            sb.Append('e').Append(e >= 0 ? "+" : "-").Append(Math.Abs(e).ToString(CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    /// <summary>JavaScript <c>parseInt(text, 10)</c>: leading whitespace, a sign and the longest run of digits.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The number, or NaN when no digit starts it.</returns>
    public static double ParseInt(string text)
    {
        int i = SkipSpace(text);
        int start = i;
        if (i < text.Length && text[i] is '+' or '-')
        {
            i++;
        }

        int digitsStart = i;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            i++;
        }

        return i == digitsStart ? double.NaN : double.Parse(text[start..i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
    }

    /// <summary>JavaScript <c>parseFloat(text)</c>: the longest prefix (after whitespace) that is a decimal literal or Infinity.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The number, or NaN.</returns>
    public static double ParseFloat(string text)
    {
        int i = SkipSpace(text);
        int start = i;
        if (i < text.Length && text[i] is '+' or '-')
        {
            i++;
        }

        if (string.CompareOrdinal(text, i, "Infinity", 0, 8) == 0)
        {
            return text[start] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
        }

        int mantissa = i;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            i++;
        }

        if (i < text.Length && text[i] == '.')
        {
            i++;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }
        }

        if (i == mantissa || (i == mantissa + 1 && text[mantissa] == '.'))
        {
            return double.NaN;
        }

        int end = i;
        if (i < text.Length && text[i] is 'e' or 'E')
        {
            int j = i + 1;
            if (j < text.Length && text[j] is '+' or '-')
            {
                j++;
            }

            int expDigits = j;
            while (j < text.Length && char.IsAsciiDigit(text[j]))
            {
                j++;
            }

            if (j > expDigits)
            {
                end = j;
            }
        }

        return double.Parse(text[start..end], NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    private static int SkipSpace(string text)
    {
        int i = 0;
        while (i < text.Length && MoR.Text.EcmaWhitespace.Is(text[i]))
        {
            i++;
        }

        return i;
    }

    // Digits without leading/trailing zeros and the decimal exponent n, from .NET's shortest round-trip form.
    private static (string Digits, int N) Decompose(string shortest)
    {
        string mantissa = shortest;
        int exponent = 0;
        int e = shortest.IndexOf('E', StringComparison.Ordinal);
        if (e >= 0)
        {
            mantissa = shortest[..e];
            exponent = int.Parse(shortest[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        }

        int dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        string intPart = dot >= 0 ? mantissa[..dot] : mantissa;
        string fracPart = dot >= 0 ? mantissa[(dot + 1)..] : string.Empty;
        string all = intPart + fracPart;
        int pointAt = intPart.Length + exponent;
        int lead = 0;
        while (lead < all.Length - 1 && all[lead] == '0')
        {
            lead++;
        }

        all = all[lead..];
        pointAt -= lead;
        all = all.TrimEnd('0');
        return (all.Length == 0 ? "0" : all, pointAt);
    }
}
