namespace MoR.Templates;

/// <summary>
/// Jinja tests (<c>x is defined</c>, <c>x is not none</c>, <c>x is equalto y</c>…), with the reference's meanings:
/// <c>iterable</c> is a list or a string, <c>mapping</c> a dict, <c>sameas</c> (not in the reference) is identity
/// for lists and dicts and equality for anything else.
/// </summary>
internal static class TemplateTests
{
    /// <summary>The names of every test.</summary>
    public static readonly string[] Names =
        ["boolean", "callable", "odd", "even", "false", "true", "none", "string", "number", "integer", "float", "iterable", "mapping",
         "sequence", "lower", "upper", "defined", "undefined", "equalto", "eq", "==", "ne", "!=", "sameas", "divisibleby", "in"];

    /// <summary>Runs a test.</summary>
    /// <param name="name">The test's name.</param>
    /// <param name="v">The value tested.</param>
    /// <param name="args">The test's arguments (for <c>equalto</c>, <c>sameas</c>, <c>divisibleby</c>, <c>in</c>).</param>
    /// <returns>The result, or null for an unknown test.</returns>
    /// <exception cref="TemplateError">A test applied to a value it does not accept (<c>odd</c> on a string).</exception>
    public static bool? Run(string name, TemplateValue v, List<TemplateValue> args)
    {
        TemplateValue Arg() => args.Count > 0 ? args[0] : UndefinedValue.Instance;
        return name switch
        {
            "boolean" => v is BooleanValue,
            "callable" => v is FunctionValue,
            "odd" => Integer(v, "odd") % 2 != 0,
            "even" => Integer(v, "even") % 2 == 0,
            "false" => v is BooleanValue { Value: false },
            "true" => v is BooleanValue { Value: true },
            "none" => v is NullValue,
            "string" => v is StringValue,
            "number" => v is NumberValue,
            "integer" => v is IntegerValue,
            "float" => v is FloatValue,
            "iterable" => v is ArrayValue or StringValue,
            "mapping" => v is ObjectValue,
            "sequence" => v is ArrayValue or ObjectValue or StringValue,
            "lower" => v is StringValue s && s.Value == s.Value.ToLowerInvariant(),
            "upper" => v is StringValue u && u.Value == u.Value.ToUpperInvariant(),
            "defined" => v is not UndefinedValue,
            "undefined" => v is UndefinedValue,
            "equalto" or "eq" or "==" => TemplateEquality.Strict(v, Arg()),
            "ne" or "!=" => !TemplateEquality.Strict(v, Arg()),
            "sameas" => SameAs(v, Arg()),
            "divisibleby" => Arg() is NumberValue d && d.Value != 0 ? Integer(v, "divisibleby") % d.Value == 0 : throw new TemplateError(-1, "divisibleby needs a non-zero number"),
            "in" => Arg() switch
            {
                ArrayValue list => list.Items.Any(i => TemplateEquality.Strict(i, v)),
                StringValue s when v is StringValue part => s.Value.Contains(part.Value, StringComparison.Ordinal),
                ObjectValue o when v is StringValue key => o.Entries.ContainsKey(key.Value),
                _ => throw new TemplateError(-1, $"'in' cannot look inside {Arg().Described}"),
            },
            _ => null,
        };
    }

    private static double Integer(TemplateValue v, string test) =>
        v is IntegerValue i ? i.Value : throw new TemplateError(-1, $"the '{test}' test needs an integer, not {v.Described}");

    private static bool SameAs(TemplateValue a, TemplateValue b) => (a, b) switch
    {
        (ArrayValue or ObjectValue or NamespaceValue or FunctionValue, _) => TemplateEquality.Strict(a, b),
        (IntegerValue, FloatValue) or (FloatValue, IntegerValue) => false,
        _ => TemplateEquality.Strict(a, b),
    };
}
