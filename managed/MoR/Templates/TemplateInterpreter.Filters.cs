using MoR.Text;

namespace MoR.Templates;

/// <summary>
/// Filters (<c>value | name</c> and <c>value | name(arguments)</c>), each accepting the types the reference accepts:
/// e.g. <c>length</c> of a list, string or dict; <c>default(…)</c> only in its called form; <c>selectattr</c> with
/// string arguments only.
/// </summary>
internal sealed partial class TemplateInterpreter
{
    private TemplateValue ApplyFilter(TemplateValue operand, Node filterNode, TemplateScope scope)
    {
        try
        {
            return filterNode switch
            {
                Identifier id => ApplySimpleFilter(operand, id.Name),
                CallExpression { Callee: Identifier name } call => ApplyCalledFilter(operand, name.Name, call.Arguments, scope),
                _ => throw new TemplateError(filterNode.Position, "a filter must be a name or a call"),
            };
        }
        catch (TemplateError e) when (e.Position < 0)
        {
            throw new TemplateError(filterNode.Position, e.Message);
        }
    }

    private static TemplateError NotFor(string filter, TemplateValue operand) => new(-1, $"the '{filter}' filter does not apply to {operand.Described}");

    private static TemplateValue ApplySimpleFilter(TemplateValue operand, string name)
    {
        switch (name)
        {
            case "safe":
                return operand;
            case "tojson":
                return new StringValue(TemplateJson.Serialize(operand, new TemplateJson.Options(), undefinedAsNull: true));
        }

        switch (operand)
        {
            case ArrayValue list:
                return name switch
                {
                    "list" => operand,
                    "first" => list.Items.Count > 0 ? list.Items[0] : UndefinedValue.Instance,
                    "last" => list.Items.Count > 0 ? list.Items[^1] : UndefinedValue.Instance,
                    "length" or "count" => new IntegerValue(list.Items.Count),
                    "reverse" => new ArrayValue(Enumerable.Reverse(list.Items).ToList()),
                    "sort" => new ArrayValue([.. list.Items.Order(Comparer<TemplateValue>.Create((a, b) => TemplateBuiltins.Compare(a, b, caseSensitive: false)))]),
                    "join" => new StringValue(string.Concat(list.Items.Select(RawText))),
                    "string" => new StringValue(TemplateJson.Serialize(operand, new TemplateJson.Options(), undefinedAsNull: false)),
                    "unique" => new ArrayValue(Unique(list.Items)),
                    _ => throw NotFor(name, operand),
                };
            case StringValue s:
                return name switch
                {
                    "length" or "count" => new IntegerValue(s.Value.Length),
                    "upper" or "lower" or "title" or "capitalize" => ((FunctionValue)TemplateBuiltins.StringMethod(s, name)!).Invoke([], new TemplateScope(null)),
                    "trim" => new StringValue(EcmaWhitespace.Trim(s.Value)),
                    "indent" => new StringValue(Indent(s.Value, "    ", first: false, blank: false)),
                    "join" or "string" => operand,
                    "int" => new IntegerValue(JsNumber.ParseInt(s.Value) is double i && !double.IsNaN(i) ? i : 0),
                    "float" => new FloatValue(JsNumber.ParseFloat(s.Value) is double f && !double.IsNaN(f) ? f : 0),
                    _ => throw NotFor(name, operand),
                };
            case NumberValue n:
                return name switch
                {
                    "abs" => operand is IntegerValue ? new IntegerValue(Math.Abs(n.Value)) : new FloatValue(Math.Abs(n.Value)),
                    "int" => new IntegerValue(Math.Truncate(n.Value) + 0),
                    "float" => new FloatValue(n.Value),
                    "string" => new StringValue(operand.ToOutput()),
                    _ => throw NotFor(name, operand),
                };
            case ObjectValue o:
                return name switch
                {
                    "items" => o.Items(),
                    "length" or "count" => new IntegerValue(o.Entries.Count),
                    _ => TemplateBuiltins.ObjectMethod(o, name) is FunctionValue method ? method.Invoke([], new TemplateScope(null)) : throw NotFor(name, operand),
                };
            case BooleanValue b:
                return name switch
                {
                    "bool" => operand,
                    "int" => new IntegerValue(b.Value ? 1 : 0),
                    "float" => new FloatValue(b.Value ? 1 : 0),
                    "string" => new StringValue(b.Value ? "true" : "false"),
                    _ => throw NotFor(name, operand),
                };
            default:
                throw NotFor(name, operand);
        }
    }

    private TemplateValue ApplyCalledFilter(TemplateValue operand, string name, List<Node> arguments, TemplateScope scope)
    {
        (List<TemplateValue> args, OrderedDictionary<string, TemplateValue> kwargs) = EvaluateSplitArguments(arguments, scope);
        TemplateValue? Get(int index, string key) => args.ElementAtOrDefault(index) ?? kwargs.GetValueOrDefault(key);
        switch (name)
        {
            case "tojson":
                return new StringValue(TemplateJson.Serialize(operand, JsonOptions(kwargs), undefinedAsNull: true));
            case "join":
                {
                    IEnumerable<string> items = operand switch
                    {
                        StringValue s => TemplateBuiltins.CodePoints(s.Value),
                        ArrayValue list => list.Items.Select(RawText),
                        _ => throw NotFor(name, operand),
                    };
                    TemplateValue separator = Get(0, "separator") ?? new StringValue(string.Empty);
                    return new StringValue(string.Join(separator is StringValue sep ? sep.Value : throw new TemplateError(-1, "join(): the separator must be a string"), items));
                }

            case "int" or "float":
                {
                    TemplateValue fallback = Get(0, "default") ?? (name == "int" ? new IntegerValue(0) : new FloatValue(0));
                    return operand switch
                    {
                        StringValue s => (name == "int" ? JsNumber.ParseInt(s.Value) : JsNumber.ParseFloat(s.Value)) is double v && !double.IsNaN(v)
                            ? (name == "int" ? new IntegerValue(v) : new FloatValue(v)) : fallback,
                        NumberValue n => name == "int" ? new IntegerValue(Math.Truncate(n.Value) + 0) : new FloatValue(n.Value),
                        BooleanValue b => name == "int" ? new IntegerValue(b.Value ? 1 : 0) : new FloatValue(b.Value ? 1 : 0),
                        _ => throw NotFor(name, operand),
                    };
                }

            case "default" or "d":
                {
                    TemplateValue fallback = args.ElementAtOrDefault(0) ?? new StringValue(string.Empty);
                    TemplateValue flag = args.ElementAtOrDefault(1) ?? kwargs.GetValueOrDefault("boolean") ?? BooleanValue.False;
                    if (flag is not BooleanValue boolean)
                    {
                        throw new TemplateError(-1, "default(): the second argument must be a boolean");
                    }

                    return operand is UndefinedValue || (boolean.Value && !operand.IsTruthy) ? fallback : operand;
                }
        }

        switch (operand)
        {
            case ArrayValue list when name == "sort":
                return Sort(list, Get(0, "reverse"), Get(1, "case_sensitive"), Get(2, "attribute"));
            case ArrayValue list when name is "selectattr" or "rejectattr":
                return SelectAttribute(list, name == "selectattr", arguments, args);
            case ArrayValue list when name == "map":
                if (kwargs.GetValueOrDefault("attribute") is not StringValue attribute)
                {
                    throw new TemplateError(-1, "map() is supported with attribute=… only");
                }

                return new ArrayValue([.. list.Items.Select(item =>
                {
                    if (item is not (ObjectValue or NamespaceValue))
                    {
                        throw new TemplateError(-1, "map(attribute=…) needs a list of dicts");
                    }

                    TemplateValue v = TemplateBuiltins.Attribute(item, attribute.Value);
                    return v is UndefinedValue ? kwargs.GetValueOrDefault("default") ?? UndefinedValue.Instance : v;
                })]);
            case StringValue s when name == "indent":
                {
                    TemplateValue width = Get(0, "width") ?? new IntegerValue(4);
                    string indent = width switch
                    {
                        IntegerValue w => new string(' ', (int)Math.Max(0, w.Value)),
                        StringValue w => w.Value,
                        _ => throw new TemplateError(-1, "indent(): width must be an integer or a string"),
                    };
                    return new StringValue(Indent(s.Value, indent, Get(1, "first")?.IsTruthy ?? false, Get(2, "blank")?.IsTruthy ?? false));
                }

            case StringValue s when name == "replace":
                {
                    var callArgs = new List<TemplateValue>(args) { new KeywordArgumentsValue(kwargs) };
                    return ((FunctionValue)TemplateBuiltins.StringMethod(s, "replace")!).Invoke(callArgs, scope);
                }

            case ObjectValue o when TemplateBuiltins.ObjectMethod(o, name) is FunctionValue method:
                {
                    var callArgs = new List<TemplateValue>(args);
                    if (kwargs.Count > 0)
                    {
                        callArgs.Add(new KeywordArgumentsValue(kwargs));
                    }

                    return method.Invoke(callArgs, scope);
                }

            default:
                throw NotFor(name, operand);
        }
    }

    private static TemplateJson.Options JsonOptions(OrderedDictionary<string, TemplateValue> kwargs)
    {
        int? indent = kwargs.GetValueOrDefault("indent") switch
        {
            null or NullValue => null,
            IntegerValue i => (int)i.Value,
            _ => throw new TemplateError(-1, "tojson(): indent must be an integer"),
        };
        bool Flag(string key) => kwargs.GetValueOrDefault(key) switch
        {
            null => false,
            BooleanValue b => b.Value,
            _ => throw new TemplateError(-1, $"tojson(): {key} must be a boolean"),
        };
        (string, string)? separators = kwargs.GetValueOrDefault("separators") switch
        {
            null or NullValue => null,
            ArrayValue { Items: [StringValue item, StringValue key] } => (item.Value, key.Value),
            _ => throw new TemplateError(-1, "tojson(): separators must be a pair of strings"),
        };
        return new TemplateJson.Options(indent, Flag("ensure_ascii"), Flag("sort_keys"), separators);
    }

    private ArrayValue SelectAttribute(ArrayValue list, bool select, List<Node> arguments, List<TemplateValue> args)
    {
        string name = select ? "selectattr" : "rejectattr";
        if (list.Items.Any(i => i is not (ObjectValue or NamespaceValue)))
        {
            throw new TemplateError(-1, $"{name}() needs a list of dicts");
        }

        if (arguments.Any(a => a is not StringLiteral) || args.Count == 0)
        {
            throw new TemplateError(-1, $"the arguments of {name}() must be string literals");
        }

        string attribute = ((StringValue)args[0]).Value;
        string? test = args.Count > 1 ? ((StringValue)args[1]).Value : null;
        List<TemplateValue> testArgs = [.. args.Skip(2)];
        return new ArrayValue([.. list.Items.Where(item =>
        {
            var entries = item is ObjectValue o ? o.Entries : ((NamespaceValue)item).Entries;
            bool result = entries.TryGetValue(attribute, out TemplateValue? value)
                && (test is null ? value.IsTruthy : TemplateTests.Run(test, value, testArgs) ?? throw new TemplateError(-1, $"unknown test '{test}'"));
            return result == select;
        })]);
    }

    private static ArrayValue Sort(ArrayValue list, TemplateValue? reverseArg, TemplateValue? caseArg, TemplateValue? attributeArg)
    {
        bool reverse = reverseArg is BooleanValue r ? r.Value : reverseArg is null ? false : throw new TemplateError(-1, "sort(): reverse must be a boolean");
        bool caseSensitive = caseArg is BooleanValue c ? c.Value : caseArg is null ? false : throw new TemplateError(-1, "sort(): case_sensitive must be a boolean");
        string? attribute = attributeArg switch
        {
            null or NullValue => null,
            StringValue s => s.Value,
            IntegerValue i => JsNumber.Format(i.Value),
            _ => throw new TemplateError(-1, "sort(): attribute must be a string or an integer"),
        };
        TemplateValue Key(TemplateValue item) => attribute is null ? item : TemplateBuiltins.Attribute(item, attribute);
        return new ArrayValue([.. list.Items.Order(Comparer<TemplateValue>.Create((a, b) =>
        {
            int result = TemplateBuiltins.Compare(Key(a), Key(b), caseSensitive);
            return reverse ? -result : result;
        }))]);
    }

    private static List<TemplateValue> Unique(List<TemplateValue> items)
    {
        var result = new List<TemplateValue>();
        foreach (TemplateValue item in items)
        {
            if (!result.Any(seen => TemplateEquality.Strict(seen, item)))
            {
                result.Add(item);
            }
        }

        return result;
    }

    // Lines after the first (unless 'first') and non-empty lines (unless 'blank') get the indent.
    private static string Indent(string text, string indent, bool first, bool blank) =>
        string.Join('\n', text.Split('\n').Select((line, i) => (!first && i == 0) || (!blank && line.Length == 0) ? line : indent + line));

    // What JavaScript's Array.prototype.join writes for an item's underlying value.
    private static string RawText(TemplateValue v) => v is NullValue or UndefinedValue ? string.Empty : v.ToJsString();
}
