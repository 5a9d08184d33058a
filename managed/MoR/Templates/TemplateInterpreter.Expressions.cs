namespace MoR.Templates;

/// <summary>Operators, member access, calls, macros and tests.</summary>
internal sealed partial class TemplateInterpreter
{
    private TemplateValue EvaluateBinary(BinaryExpression node, TemplateScope scope)
    {
        string op = node.Operator;
        TemplateValue left = Evaluate(node.Left, scope);
        if (op == "and")
        {
            return left.IsTruthy ? Evaluate(node.Right, scope) : left;
        }

        if (op == "or")
        {
            return left.IsTruthy ? left : Evaluate(node.Right, scope);
        }

        TemplateValue right = Evaluate(node.Right, scope);
        switch (op)
        {
            case "==":
                return BooleanValue.Of(TemplateEquality.Loose(left, right));
            case "!=":
                return BooleanValue.Of(!TemplateEquality.Loose(left, right));
        }

        if (left is NumberValue a && right is NumberValue b && op is not ("~" or "**"))
        {
            bool isFloat = left is FloatValue || right is FloatValue;
            NumberValue Number(double v) => isFloat ? new FloatValue(v) : new IntegerValue(v);
            switch (op)
            {
                case "+":
                    return Number(a.Value + b.Value);
                case "-":
                    return Number(a.Value - b.Value);
                case "*":
                    return Number(a.Value * b.Value);
                case "/":
                    return new FloatValue(a.Value / b.Value);
                case "//":
                    return Number(Math.Floor(a.Value / b.Value));
                case "%":
                    // JavaScript's remainder takes the dividend's sign (Python's the divisor's); the reference uses it.
                    return Number(a.Value % b.Value);
                case "<":
                    return BooleanValue.Of(a.Value < b.Value);
                case ">":
                    return BooleanValue.Of(a.Value > b.Value);
                case ">=":
                    return BooleanValue.Of(a.Value >= b.Value);
                case "<=":
                    return BooleanValue.Of(a.Value <= b.Value);
            }
        }
        else if (left is UndefinedValue || right is UndefinedValue)
        {
            if (right is UndefinedValue && op is "in" or "not in")
            {
                return BooleanValue.Of(op == "not in");
            }

            if (op == "~" && left is not NullValue && right is not NullValue)
            {
                return new StringValue((left is UndefinedValue ? string.Empty : left.ToJsString()) + (right is UndefinedValue ? string.Empty : right.ToJsString()));
            }

            throw new TemplateError(node.Position, $"cannot apply '{op}' to an undefined value");
        }
        else if (left is NullValue || right is NullValue)
        {
            throw new TemplateError(node.Position, $"cannot apply '{op}' to none");
        }
        else if (op == "~")
        {
            return new StringValue(left.ToJsString() + right.ToJsString());
        }
        else if (op == "**" && IsNumeric(left) && IsNumeric(right))
        {
            double x = NumericValue(left), y = NumericValue(right);
            if (x == 0 && y < 0)
            {
                throw new TemplateError(node.Position, "0.0 cannot be raised to a negative power");
            }

            double result = Math.Pow(x, y);
            if (!double.IsFinite(result))
            {
                throw new TemplateError(node.Position, "exponentiation result is not a finite real number");
            }

            return left is FloatValue || right is FloatValue || y < 0 ? new FloatValue(result) : new IntegerValue(result);
        }
        else if (left is ArrayValue l && right is ArrayValue r)
        {
            if (op == "+")
            {
                return new ArrayValue([.. l.Items, .. r.Items]);
            }
        }
        else if (right is ArrayValue list && op is "in" or "not in")
        {
            bool member = list.Items.Any(x => TemplateEquality.Strict(x, left));
            return BooleanValue.Of(member == (op == "in"));
        }

        if ((left is StringValue || right is StringValue) && op == "+")
        {
            return new StringValue(left.ToJsString() + right.ToJsString());
        }

        if (left is StringValue ls && right is StringValue rs && op is "in" or "not in")
        {
            return BooleanValue.Of(rs.Value.Contains(ls.Value, StringComparison.Ordinal) == (op == "in"));
        }

        if (left is StringValue key && right is ObjectValue dict && op is "in" or "not in")
        {
            return BooleanValue.Of(dict.Entries.ContainsKey(key.Value) == (op == "in"));
        }

        throw new TemplateError(node.Position, $"operator '{op}' is not supported between {left.Described} and {right.Described}");
    }

    private static bool IsNumeric(TemplateValue v) => v is NumberValue or BooleanValue;

    private static double NumericValue(TemplateValue v) => v is BooleanValue b ? (b.Value ? 1 : 0) : ((NumberValue)v).Value;

    private TemplateValue EvaluateUnary(UnaryExpression node, TemplateScope scope)
    {
        TemplateValue argument = Evaluate(node.Argument, scope);
        if (node.Operator == "not")
        {
            return BooleanValue.Of(!argument.IsTruthy);
        }

        if (!IsNumeric(argument))
        {
            throw new TemplateError(node.Position, $"unary '{node.Operator}' is not supported on {argument.Described}");
        }

        double value = (node.Operator == "-" ? -1 : 1) * NumericValue(argument);
        return argument is FloatValue ? new FloatValue(value) : new IntegerValue(value);
    }

    private TemplateValue EvaluateMember(MemberExpression node, TemplateScope scope)
    {
        TemplateValue target = Evaluate(node.Object, scope);
        TemplateValue property;
        if (node.Computed)
        {
            if (node.Property is SliceExpression slice)
            {
                return EvaluateSlice(target, slice, scope);
            }

            property = Evaluate(node.Property, scope);
        }
        else
        {
            property = node.Property is IntegerLiteral i ? new IntegerValue(i.Value) : new StringValue(((Identifier)node.Property).Name);
        }

        TemplateValue? value;
        switch (target)
        {
            case ObjectValue or NamespaceValue:
                if (property is not StringValue name)
                {
                    throw new TemplateError(node.Position, $"a dict is indexed by strings, not by {property.Described}");
                }

                OrderedDictionary<string, TemplateValue> entries = target is ObjectValue o ? o.Entries : ((NamespaceValue)target).Entries;
                value = entries.TryGetValue(name.Value, out TemplateValue? found) ? found
                    : target is ObjectValue obj ? TemplateBuiltins.ObjectMethod(obj, name.Value) : null;
                break;
            case ArrayValue or StringValue:
                if (property is IntegerValue index)
                {
                    value = target is ArrayValue array ? At(array.Items, index.Value) : At((StringValue)target, index.Value);
                }
                else if (property is StringValue method)
                {
                    value = target is StringValue s ? TemplateBuiltins.StringMethod(s, method.Value)
                        : method.Value == "length" ? new IntegerValue(((ArrayValue)target).Items.Count) : null;
                }
                else
                {
                    throw new TemplateError(node.Position, $"{target.Described} is indexed by integers, not by {property.Described}");
                }

                break;
            default:
                // Attributes of none, undefined, numbers and booleans are undefined, as in the reference.
                if (property is not StringValue)
                {
                    throw new TemplateError(node.Position, $"{target.Described} cannot be indexed");
                }

                value = null;
                break;
        }

        return value ?? UndefinedValue.Instance;
    }

    // JavaScript's Array.prototype.at: negative indices count from the end.
    private static TemplateValue? At(List<TemplateValue> items, double index)
    {
        int i = (int)Math.Truncate(index);
        i = i < 0 ? items.Count + i : i;
        return i >= 0 && i < items.Count ? items[i] : null;
    }

    private static StringValue? At(StringValue s, double index)
    {
        int i = (int)Math.Truncate(index);
        i = i < 0 ? s.Value.Length + i : i;
        return i >= 0 && i < s.Value.Length ? new StringValue(s.Value[i].ToString()) : null;
    }

    private TemplateValue EvaluateSlice(TemplateValue target, SliceExpression slice, TemplateScope scope)
    {
        if (target is not (ArrayValue or StringValue))
        {
            throw new TemplateError(slice.Position, $"{target.Described} cannot be sliced");
        }

        double? Part(Node? node, string name) => Evaluate(node, scope) switch
        {
            UndefinedValue => null,
            IntegerValue i => i.Value,
            TemplateValue other => throw new TemplateError(slice.Position, $"the slice {name} must be an integer, not {other.Described}"),
        };

        double? start = Part(slice.Start, "start"), stop = Part(slice.Stop, "stop"), step = Part(slice.Step, "step");
        if (target is ArrayValue array)
        {
            return new ArrayValue(TemplateBuiltins.Slice(array.Items, start, stop, step));
        }

        // Strings slice by code point, as JavaScript's Array.from(string) splits them.
        List<string> codePoints = TemplateBuiltins.CodePoints(((StringValue)target).Value);
        return new StringValue(string.Concat(TemplateBuiltins.Slice(codePoints, start, stop, step)));
    }

    private TemplateValue EvaluateCall(CallExpression node, TemplateScope scope)
    {
        List<TemplateValue> args = EvaluateArguments(node.Arguments, scope);
        TemplateValue callee = Evaluate(node.Callee, scope);
        if (callee is not FunctionValue function)
        {
            string name = node.Callee switch
            {
                Identifier id => $"'{id.Name}'",
                MemberExpression { Computed: false, Property: Identifier p } => $"'.{p.Name}'",
                _ => "this",
            };
            throw new TemplateError(node.Position, $"{name} is not a function (it is {callee.Described})");
        }

        return function.Invoke(args, scope);
    }

    // Positional arguments, then one KeywordArgumentsValue holding the keyword arguments (when there are any).
    private List<TemplateValue> EvaluateArguments(List<Node> arguments, TemplateScope scope)
    {
        (List<TemplateValue> positional, OrderedDictionary<string, TemplateValue> keywords) = EvaluateSplitArguments(arguments, scope);
        if (keywords.Count > 0)
        {
            positional.Add(new KeywordArgumentsValue(keywords));
        }

        return positional;
    }

    private (List<TemplateValue> Positional, OrderedDictionary<string, TemplateValue> Keywords) EvaluateSplitArguments(List<Node> arguments, TemplateScope scope)
    {
        var positional = new List<TemplateValue>();
        var keywords = new OrderedDictionary<string, TemplateValue>(StringComparer.Ordinal);
        foreach (Node argument in arguments)
        {
            if (argument is SpreadArgument spread)
            {
                positional.AddRange(Evaluate(spread.Argument, scope) is ArrayValue list ? list.Items
                    : throw new TemplateError(argument.Position, "'*' needs a list"));
            }
            else if (argument is not (KeywordArgument or KeywordSpreadArgument))
            {
                positional.Add(Evaluate(argument, scope));
            }
        }

        foreach (Node argument in arguments)
        {
            if (argument is KeywordArgument kw)
            {
                AddKeyword(keywords, kw.Key, Evaluate(kw.Value, scope), argument.Position);
            }
            else if (argument is KeywordSpreadArgument kws)
            {
                if (Evaluate(kws.Argument, scope) is not ObjectValue dict)
                {
                    throw new TemplateError(argument.Position, "'**' needs a dict");
                }

                foreach ((string key, TemplateValue value) in dict.Entries)
                {
                    AddKeyword(keywords, key, value, argument.Position);
                }
            }
        }

        return (positional, keywords);
    }

    private static void AddKeyword(OrderedDictionary<string, TemplateValue> keywords, string key, TemplateValue value, int position)
    {
        if (!keywords.TryAdd(key, value))
        {
            throw new TemplateError(position, $"keyword argument '{key}' is given twice");
        }
    }

    private void DefineMacro(MacroStatement node, TemplateScope definedIn)
    {
        HashSet<string> special = SpecialArguments(node.Parameters, node.Body);
        definedIn.Set(node.Name, new FunctionValue((args, callSite) =>
        {
            TemplateScope parent = definedIn;
            if (special.Contains("caller"))
            {
                parent = new TemplateScope(definedIn);
                parent.Set("caller", callSite.IsCallBlock ? callSite.GetLocal("caller") ?? UndefinedValue.Instance : UndefinedValue.Instance);
            }

            var macroScope = new TemplateScope(parent);
            BindArguments($"macro '{node.Name}'", node.Parameters, special, args, macroScope, node.Position);
            return new StringValue(RenderBlock(node.Body, macroScope));
        }));
    }

    private TemplateValue EvaluateCallStatement(CallStatement node, TemplateScope scope)
    {
        HashSet<string> special = SpecialArguments(node.CallerParameters, node.Body);
        var caller = new FunctionValue((callerArgs, _) =>
        {
            var blockScope = new TemplateScope(scope);
            BindArguments("the call block", node.CallerParameters, special, callerArgs, blockScope, node.Position);
            return new StringValue(RenderBlock(node.Body, blockScope));
        });

        (List<TemplateValue> args, OrderedDictionary<string, TemplateValue> keywords) = EvaluateSplitArguments(node.Call.Arguments, scope);
        args.Add(new KeywordArgumentsValue(keywords));
        if (Evaluate(node.Call.Callee, scope) is not FunctionValue function)
        {
            throw new TemplateError(node.Position, "{% call %} needs a macro");
        }

        var callSite = new TemplateScope(scope) { IsCallBlock = true };
        callSite.Set("caller", caller);
        return function.Invoke(args, callSite);
    }

    // Positional arguments fill parameters in order, keyword arguments by name; defaults are evaluated in the
    // macro's scope after every parameter is bound. Extra arguments need 'varargs' / 'kwargs' in the body.
    private void BindArguments(string what, List<Node> parameters, HashSet<string> special, List<TemplateValue> args, TemplateScope scope, int position)
    {
        var positional = new List<TemplateValue>(args);
        var keywords = new OrderedDictionary<string, TemplateValue>(StringComparer.Ordinal);
        if (positional.Count > 0 && positional[^1] is KeywordArgumentsValue kw)
        {
            keywords = new OrderedDictionary<string, TemplateValue>(kw.Entries, StringComparer.Ordinal);
            positional.RemoveAt(positional.Count - 1);
        }

        var pendingDefaults = new List<(string Name, Node Default)>();
        for (int i = 0; i < parameters.Count; i++)
        {
            (string name, Node? defaultValue) = parameters[i] switch
            {
                Identifier id => (id.Name, (Node?)null),
                KeywordArgument k => (k.Key, k.Value),
                _ => throw new TemplateError(position, "a parameter must be a name"),
            };
            TemplateValue? value = i < positional.Count ? positional[i] : null;
            if (value is null && keywords.Remove(name, out TemplateValue? named))
            {
                value = named;
            }

            if (value is null && defaultValue is not null)
            {
                pendingDefaults.Add((name, defaultValue));
            }

            scope.Set(name, value ?? UndefinedValue.Instance);
        }

        if (special.Contains("kwargs"))
        {
            scope.Set("kwargs", new ObjectValue(keywords));
        }
        else if (keywords.Count > 0)
        {
            throw new TemplateError(position, $"{what} takes no keyword argument '{keywords.GetAt(0).Key}'");
        }

        if (special.Contains("varargs"))
        {
            scope.Set("varargs", new ArrayValue([.. positional.Skip(parameters.Count)]));
        }
        else if (positional.Count > parameters.Count)
        {
            throw new TemplateError(position, $"{what} takes at most {parameters.Count} argument(s), got {positional.Count}");
        }

        foreach ((string name, Node defaultValue) in pendingDefaults)
        {
            scope.Set(name, Evaluate(defaultValue, scope));
        }
    }

    // 'caller', 'kwargs' and 'varargs' are special when the body uses them without declaring them as parameters.
    private static HashSet<string> SpecialArguments(List<Node> parameters, List<Node> body)
    {
        var declared = parameters.Select(p => p is KeywordArgument k ? k.Key : (p as Identifier)?.Name).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<object>(body);
        while (pending.Count > 0)
        {
            object item = pending.Pop();
            if (item is Identifier { Name: "caller" or "kwargs" or "varargs" } id && !declared.Contains(id.Name))
            {
                used.Add(id.Name);
            }

            if (item is MacroStatement)
            {
                continue; // a nested macro has its own
            }

            foreach (object child in Children(item))
            {
                pending.Push(child);
            }
        }

        return used;
    }

    private static IEnumerable<object> Children(object item)
    {
        foreach (System.Reflection.PropertyInfo p in item.GetType().GetProperties())
        {
            switch (p.GetValue(item))
            {
                case Node n:
                    yield return n;
                    break;
                case List<Node> list:
                    foreach (Node n in list)
                    {
                        yield return n;
                    }

                    break;
                case List<(Node Key, Node Value)> pairs:
                    foreach ((Node k, Node v) in pairs)
                    {
                        yield return k;
                        yield return v;
                    }

                    break;
            }
        }
    }

    private TemplateValue EvaluateTest(TestExpression node, TemplateScope scope)
    {
        TemplateValue operand = Evaluate(node.Operand, scope);
        List<TemplateValue> args = [.. node.Arguments.Select(a => Evaluate(a, scope))];
        bool result = TemplateTests.Run(node.Test, operand, args) ?? throw new TemplateError(node.Position, $"unknown test '{node.Test}'");
        return BooleanValue.Of(result != node.Negate);
    }
}
