using System.Globalization;

namespace MoR.Templates;

/// <summary>
/// A value inside a running template. The semantics are the reference engine's (@huggingface/jinja, which runs on
/// JavaScript): numbers are doubles tagged integer or float, lists and dicts compare by identity, <c>==</c> is
/// JavaScript's loose equality, and printing follows JavaScript (<c>true</c>, <c>2.0</c> for a float, JSON for
/// containers).
/// </summary>
internal abstract class TemplateValue
{
    /// <summary>The type's name in messages.</summary>
    public abstract string TypeName { get; }

    /// <summary>The type with its article, for messages ("an integer", "a string", "none", "undefined").</summary>
    public string Described => this is UndefinedValue or NullValue ? TypeName : (TypeName[0] is 'a' or 'e' or 'i' or 'o' or 'u' ? "an " : "a ") + TypeName;

    /// <summary>Jinja truthiness: empty strings, lists and dicts, zero, none and undefined are false.</summary>
    public virtual bool IsTruthy => true;

    /// <summary>How <c>{{ value }}</c> prints it.</summary>
    /// <returns>The text.</returns>
    public abstract string ToOutput();

    /// <summary>The text JavaScript's <c>String(value)</c> gives the underlying value (used by <c>~</c> and
    /// string <c>+</c>): numbers without a forced ".0", lists joined with commas, dicts as "[object Map]".</summary>
    /// <returns>The text.</returns>
    public abstract string ToJsString();
}

internal sealed class UndefinedValue : TemplateValue
{
    public static readonly UndefinedValue Instance = new();

    private UndefinedValue()
    {
    }

    public override string TypeName => "undefined";

    public override bool IsTruthy => false;

    public override string ToOutput() => "undefined";

    public override string ToJsString() => "undefined";
}

internal sealed class NullValue : TemplateValue
{
    public static readonly NullValue Instance = new();

    private NullValue()
    {
    }

    public override string TypeName => "none";

    public override bool IsTruthy => false;

    public override string ToOutput() => "null";

    public override string ToJsString() => "null";
}

internal sealed class BooleanValue : TemplateValue
{
    public static readonly BooleanValue True = new(true);
    public static readonly BooleanValue False = new(false);

    private BooleanValue(bool value)
    {
        Value = value;
    }

    public bool Value { get; }

    public override string TypeName => "boolean";

    public override bool IsTruthy => Value;

    public static BooleanValue Of(bool value) => value ? True : False;

    public override string ToOutput() => Value ? "true" : "false";

    public override string ToJsString() => ToOutput();
}

/// <summary>A number; <see cref="IntegerValue"/> and <see cref="FloatValue"/> differ only in how they print and combine.</summary>
internal abstract class NumberValue(double value) : TemplateValue
{
    public double Value { get; } = value;

    public override bool IsTruthy => Value != 0 && !double.IsNaN(Value);

    public override string ToJsString() => JsNumber.Format(Value);
}

internal sealed class IntegerValue(double value) : NumberValue(value)
{
    public override string TypeName => "integer";

    public override string ToOutput() => JsNumber.Format(Value);
}

internal sealed class FloatValue(double value) : NumberValue(value)
{
    public override string TypeName => "float";

    // JavaScript prints 2 as "2"; the reference prints floats with a fraction ("2.0"), as Python does.
    public override string ToOutput() =>
        Value == 0 && double.IsNegative(Value) ? "-0.0"
        : Value % 1 == 0 && Math.Abs(Value) < 1e21 ? JsNumber.Format(Value) + ".0"
        : JsNumber.Format(Value);
}

internal sealed class StringValue(string value) : TemplateValue
{
    public string Value { get; } = value;

    public override string TypeName => "string";

    public override bool IsTruthy => Value.Length > 0;

    public override string ToOutput() => Value;

    public override string ToJsString() => Value;
}

internal class ArrayValue(List<TemplateValue> items) : TemplateValue
{
    public List<TemplateValue> Items { get; } = items;

    public override string TypeName => "list";

    public override bool IsTruthy => Items.Count > 0;

    public override string ToOutput() => TemplateJson.Serialize(this, new TemplateJson.Options(), undefinedAsNull: false);

    public override string ToJsString() => string.Join(",", Items.Select(i => i.ToOutput()));
}

internal sealed class TupleValue(List<TemplateValue> items) : ArrayValue(items)
{
    public override string TypeName => "tuple";
}

/// <summary>A dict (insertion-ordered, string keys), also a message or the <c>loop</c> variable.</summary>
internal class ObjectValue(OrderedDictionary<string, TemplateValue> entries) : TemplateValue
{
    public OrderedDictionary<string, TemplateValue> Entries { get; } = entries;

    public override string TypeName => "dict";

    public override bool IsTruthy => Entries.Count > 0;

    public override string ToOutput() => TemplateJson.Serialize(this, new TemplateJson.Options(), undefinedAsNull: false);

    public override string ToJsString() => "[object Map]";

    public ArrayValue Items() => new([.. Entries.Select(e => (TemplateValue)new ArrayValue([new StringValue(e.Key), e.Value]))]);

    public ArrayValue Keys() => new([.. Entries.Keys.Select(k => (TemplateValue)new StringValue(k))]);

    public ArrayValue ValuesList() => new([.. Entries.Values]);
}

/// <summary>The keyword arguments of a call, passed as the last argument.</summary>
internal sealed class KeywordArgumentsValue(OrderedDictionary<string, TemplateValue> entries) : ObjectValue(entries);

/// <summary><c>namespace(...)</c>: a dict whose attributes <c>{% set ns.x = … %}</c> may assign.</summary>
internal sealed class NamespaceValue(OrderedDictionary<string, TemplateValue> entries) : TemplateValue
{
    public OrderedDictionary<string, TemplateValue> Entries { get; } = entries;

    public override string TypeName => "namespace";

    public override string ToOutput() => TemplateJson.Serialize(this, new TemplateJson.Options(), undefinedAsNull: false);

    public override string ToJsString() => "[object Map]";
}

/// <summary>A callable: a macro, a global such as <c>range</c>, or a string method bound to its string.</summary>
/// <param name="invoke">Called with the evaluated arguments (keyword arguments last, as a <see cref="KeywordArgumentsValue"/>)
/// and the scope of the call site.</param>
internal sealed class FunctionValue(Func<List<TemplateValue>, TemplateScope, TemplateValue> invoke) : TemplateValue
{
    public Func<List<TemplateValue>, TemplateScope, TemplateValue> Invoke { get; } = invoke;

    public override string TypeName => "function";

    public override string ToOutput() => "[function]";

    public override string ToJsString() => "[function]";
}

/// <summary>Equality as the reference computes it on the underlying JavaScript values.</summary>
internal static class TemplateEquality
{
    /// <summary>JavaScript <c>==</c>.</summary>
    public static bool Loose(TemplateValue a, TemplateValue b)
    {
        bool aNullish = a is UndefinedValue or NullValue, bNullish = b is UndefinedValue or NullValue;
        if (aNullish || bNullish)
        {
            return aNullish && bNullish;
        }

        return (a, b) switch
        {
            (NumberValue x, NumberValue y) => x.Value == y.Value,
            (StringValue x, StringValue y) => string.Equals(x.Value, y.Value, StringComparison.Ordinal),
            (BooleanValue x, BooleanValue y) => x.Value == y.Value,
            (BooleanValue x, _) => Loose(new IntegerValue(x.Value ? 1 : 0), b),
            (_, BooleanValue y) => Loose(a, new IntegerValue(y.Value ? 1 : 0)),
            (NumberValue x, StringValue y) => x.Value == StringToNumber(y.Value),
            (StringValue x, NumberValue y) => StringToNumber(x.Value) == y.Value,
            (NumberValue or StringValue, _) => !IsContainer(a) && Loose(a, new StringValue(b.ToJsString())),
            (_, NumberValue or StringValue) => Loose(new StringValue(a.ToJsString()), b),
            _ => Identity(a, b),
        };
    }

    /// <summary>JavaScript <c>===</c>.</summary>
    public static bool Strict(TemplateValue a, TemplateValue b) => (a, b) switch
    {
        (UndefinedValue, UndefinedValue) or (NullValue, NullValue) => true,
        (NumberValue x, NumberValue y) => x.Value == y.Value,
        (StringValue x, StringValue y) => string.Equals(x.Value, y.Value, StringComparison.Ordinal),
        (BooleanValue x, BooleanValue y) => x.Value == y.Value,
        _ => Identity(a, b),
    };

    // Lists and dicts are the same only when they are the same object.
    private static bool Identity(TemplateValue a, TemplateValue b) => (a, b) switch
    {
        (ArrayValue x, ArrayValue y) => ReferenceEquals(x.Items, y.Items),
        (ObjectValue x, ObjectValue y) => ReferenceEquals(x.Entries, y.Entries),
        (NamespaceValue x, NamespaceValue y) => ReferenceEquals(x.Entries, y.Entries),
        _ => ReferenceEquals(a, b),
    };

    private static bool IsContainer(TemplateValue v) => v is ArrayValue or ObjectValue or NamespaceValue or FunctionValue;

    // JavaScript's StringToNumber: surrounding whitespace ignored, "" is 0, 0x/0o/0b prefixes, Infinity; else NaN.
    private static double StringToNumber(string s)
    {
        string t = MoR.Text.EcmaWhitespace.Trim(s);
        if (t.Length == 0)
        {
            return 0;
        }

        if (t.Length > 2 && t[0] == '0' && t[1] is 'x' or 'X' or 'o' or 'O' or 'b' or 'B')
        {
            int radix = t[1] is 'x' or 'X' ? 16 : t[1] is 'o' or 'O' ? 8 : 2;
            try
            {
                return Convert.ToInt64(t[2..], radix);
            }
            catch (FormatException)
            {
                return double.NaN;
            }
            catch (OverflowException)
            {
                return double.NaN;
            }
        }

        if (t is "Infinity" or "+Infinity")
        {
            return double.PositiveInfinity;
        }

        if (t == "-Infinity")
        {
            return double.NegativeInfinity;
        }

        bool plain = t.All(c => char.IsAsciiDigit(c) || c is '.' or 'e' or 'E' or '+' or '-');
        return plain && double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN;
    }
}
