using System.Text;

namespace MoR.IO;

/// <summary>
/// A safetensors file or sharded checkpoint index broke a rule of the format. The message names the
/// file, the tensor when one is involved, and the rule (<see cref="RuleId"/>).
/// </summary>
public sealed class SafeTensorsFormatException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The offending file.</param>
    /// <param name="tensorName">The offending tensor, or <see langword="null"/>.</param>
    /// <param name="violation">The rule broken.</param>
    /// <param name="detail">What exactly is wrong, in words.</param>
    /// <param name="innerException">The parser error behind it, if any.</param>
    public SafeTensorsFormatException(
        string path, string? tensorName, SafeTensorsViolation violation, string detail, Exception? innerException = null)
        : base(Compose(path, tensorName, violation, detail), innerException)
    {
        FilePath = path;
        TensorName = tensorName;
        Violation = violation;
    }

    /// <summary>The offending file.</summary>
    public string FilePath { get; }

    /// <summary>The offending tensor, when the rule concerns one.</summary>
    public string? TensorName { get; }

    /// <summary>The rule broken.</summary>
    public SafeTensorsViolation Violation { get; }

    /// <summary>The rule's kebab-case identifier, as it appears in the message (e.g. <c>duplicate-key</c>).</summary>
    public string RuleId => ToRuleId(Violation);

    /// <summary>Kebab-case identifier of a rule.</summary>
    /// <param name="violation">The rule.</param>
    /// <returns>E.g. <c>byte-length-mismatch</c>.</returns>
    public static string ToRuleId(SafeTensorsViolation violation)
    {
        string name = violation.ToString();
        var sb = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c) && i > 0 && !char.IsUpper(name[i - 1]))
            {
                sb.Append('-');
            }

            sb.Append(char.ToLowerInvariant(c));
        }

        return sb.ToString();
    }

    private static string Compose(string path, string? tensorName, SafeTensorsViolation violation, string detail)
    {
        string where = tensorName is null ? $"'{path}'" : $"'{path}', tensor '{tensorName}'";
        return $"Invalid safetensors data in {where}: {detail} [rule: {ToRuleId(violation)}]";
    }
}
