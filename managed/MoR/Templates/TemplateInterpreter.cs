using System.Text;

namespace MoR.Templates;

/// <summary>
/// Renders a parsed template. Statements render into strings; expressions evaluate to <see cref="TemplateValue"/>s.
/// Semantics follow @huggingface/jinja (the reference the golden renderings come from), including where it departs
/// from Python's Jinja: <c>{% continue %}</c> drops what the current iteration had written, and a loop whose every
/// iteration was skipped that way renders its <c>else</c> block.
/// </summary>
internal sealed partial class TemplateInterpreter
{
    /// <summary>Renders statements in a scope.</summary>
    /// <param name="statements">The statements.</param>
    /// <param name="scope">The scope.</param>
    /// <returns>The text.</returns>
    public string RenderBlock(List<Node> statements, TemplateScope scope)
    {
        // A macro that calls itself without end would otherwise overflow the stack, which kills the process.
        System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
        var sb = new StringBuilder();
        foreach (Node statement in statements)
        {
            switch (statement)
            {
                case StringLiteral text:
                    sb.Append(text.Value);
                    break;
                case IfStatement s:
                    sb.Append(RenderBlock(Evaluate(s.Test, scope).IsTruthy ? s.Body : s.Alternate, scope));
                    break;
                case ForStatement s:
                    sb.Append(RenderFor(s, scope));
                    break;
                case SetStatement s:
                    ExecuteSet(s, scope);
                    break;
                case CommentStatement:
                    break;
                case MacroStatement s:
                    DefineMacro(s, scope);
                    break;
                case BreakStatement:
                    throw new BreakSignal();
                case ContinueStatement:
                    throw new ContinueSignal();
                default:
                    TemplateValue value = statement switch
                    {
                        CallStatement call => EvaluateCallStatement(call, scope),
                        FilterStatement filter => ApplyFilter(new StringValue(RenderBlock(filter.Body, scope)), filter.Filter, scope),
                        _ => Evaluate(statement, scope),
                    };
                    if (value is not (NullValue or UndefinedValue))
                    {
                        sb.Append(value.ToOutput());
                    }

                    break;
            }
        }

        return sb.ToString();
    }

    /// <summary>Evaluates an expression.</summary>
    /// <param name="node">The expression.</param>
    /// <param name="scope">The scope.</param>
    /// <returns>The value.</returns>
    public TemplateValue Evaluate(Node? node, TemplateScope scope)
    {
        try
        {
            return node switch
            {
                null => UndefinedValue.Instance,
                Identifier id => scope.Lookup(id.Name),
                StringLiteral s => new StringValue(s.Value),
                IntegerLiteral i => new IntegerValue(i.Value),
                FloatLiteral f => new FloatValue(f.Value),
                ArrayLiteral a => new ArrayValue([.. a.Items.Select(x => Evaluate(x, scope))]),
                TupleLiteral t => new TupleValue([.. t.Items.Select(x => Evaluate(x, scope))]),
                ObjectLiteral o => EvaluateObject(o, scope),
                BinaryExpression b => EvaluateBinary(b, scope),
                UnaryExpression u => EvaluateUnary(u, scope),
                MemberExpression m => EvaluateMember(m, scope),
                CallExpression c => EvaluateCall(c, scope),
                FilterExpression f => ApplyFilter(Evaluate(f.Operand, scope), f.Filter, scope),
                TestExpression t => EvaluateTest(t, scope),
                SelectExpression s => Evaluate(s.Test, scope).IsTruthy ? Evaluate(s.Value, scope) : UndefinedValue.Instance,
                Ternary t => Evaluate(Evaluate(t.Condition, scope).IsTruthy ? t.WhenTrue : t.WhenFalse, scope),
                _ => throw new TemplateError(node.Position, $"cannot evaluate {node.GetType().Name}"),
            };
        }
        catch (TemplateError e) when (e.Position < 0 && node is not null)
        {
            // Helpers deep inside report no position; the innermost expression that reaches here supplies it.
            throw new TemplateError(node.Position, e.Message);
        }
    }

    private ObjectValue EvaluateObject(ObjectLiteral o, TemplateScope scope)
    {
        var entries = new OrderedDictionary<string, TemplateValue>(StringComparer.Ordinal);
        foreach ((Node key, Node value) in o.Entries)
        {
            entries[Evaluate(key, scope) is StringValue k ? k.Value : throw new TemplateError(key.Position, "dict keys must be strings")] = Evaluate(value, scope);
        }

        return new ObjectValue(entries);
    }

    private void ExecuteSet(SetStatement s, TemplateScope scope)
    {
        TemplateValue value = s.Value is not null ? Evaluate(s.Value, scope) : new StringValue(RenderBlock(s.Body, scope));
        switch (s.Target)
        {
            case Identifier id:
                scope.Set(id.Name, value);
                break;
            case TupleLiteral tuple:
                if (value is not ArrayValue array)
                {
                    throw new TemplateError(s.Position, $"cannot unpack {value.Described} in set");
                }

                if (array.Items.Count != tuple.Items.Count)
                {
                    throw new TemplateError(s.Position, $"too {(tuple.Items.Count > array.Items.Count ? "few" : "many")} items to unpack in set");
                }

                for (int i = 0; i < tuple.Items.Count; i++)
                {
                    scope.Set(tuple.Items[i] is Identifier name ? name.Name : throw new TemplateError(s.Position, "can only unpack into names"), array.Items[i]);
                }

                break;
            case MemberExpression { Computed: false, Property: Identifier property } member:
                if (Evaluate(member.Object, scope) is not NamespaceValue ns)
                {
                    throw new TemplateError(s.Position, "attributes can only be assigned on a namespace()");
                }

                ns.Entries[property.Name] = value;
                break;
            default:
                throw new TemplateError(s.Position, "cannot assign to this expression");
        }
    }

    private string RenderFor(ForStatement s, TemplateScope outer)
    {
        var scope = new TemplateScope(outer);
        Node? test = null;
        TemplateValue iterable;
        if (s.Iterable is SelectExpression select)
        {
            iterable = Evaluate(select.Value, scope);
            test = select.Test;
        }
        else
        {
            iterable = Evaluate(s.Iterable, scope);
        }

        List<TemplateValue> candidates = iterable switch
        {
            ArrayValue a => a.Items,
            ObjectValue o => o.Keys().Items,
            _ => throw new TemplateError(s.Iterable.Position, $"cannot loop over {iterable.Described}"),
        };

        var items = new List<TemplateValue>();
        foreach (TemplateValue candidate in candidates)
        {
            if (s.LoopVariable is TupleLiteral tuple)
            {
                if (candidate is not ArrayValue array)
                {
                    throw new TemplateError(s.Position, $"cannot unpack {candidate.Described} into {tuple.Items.Count} loop variables");
                }

                if (array.Items.Count != tuple.Items.Count)
                {
                    throw new TemplateError(s.Position, $"too {(tuple.Items.Count > array.Items.Count ? "few" : "many")} items to unpack");
                }
            }

            if (test is not null)
            {
                var testScope = new TemplateScope(scope);
                Bind(s.LoopVariable, candidate, testScope);
                if (!Evaluate(test, testScope).IsTruthy)
                {
                    continue;
                }
            }

            items.Add(candidate);
        }

        var sb = new StringBuilder();
        bool noIteration = true;
        for (int i = 0; i < items.Count; i++)
        {
            scope.Set("loop", LoopVariable(i, items));
            Bind(s.LoopVariable, items[i], scope);
            try
            {
                sb.Append(RenderBlock(s.Body, scope));
            }
            catch (ContinueSignal)
            {
                continue;
            }
            catch (BreakSignal)
            {
                break;
            }

            noIteration = false;
        }

        if (noIteration)
        {
            sb.Append(RenderBlock(s.Else, scope));
        }

        return sb.ToString();
    }

    private static ObjectValue LoopVariable(int i, List<TemplateValue> items)
    {
        int n = items.Count;
        return new ObjectValue(new OrderedDictionary<string, TemplateValue>(StringComparer.Ordinal)
        {
            ["index"] = new IntegerValue(i + 1),
            ["index0"] = new IntegerValue(i),
            ["revindex"] = new IntegerValue(n - i),
            ["revindex0"] = new IntegerValue(n - i - 1),
            ["first"] = BooleanValue.Of(i == 0),
            ["last"] = BooleanValue.Of(i == n - 1),
            ["length"] = new IntegerValue(n),
            ["previtem"] = i > 0 ? items[i - 1] : UndefinedValue.Instance,
            ["nextitem"] = i < n - 1 ? items[i + 1] : UndefinedValue.Instance,
        });
    }

    private static void Bind(Node target, TemplateValue value, TemplateScope scope)
    {
        if (target is Identifier id)
        {
            scope.Set(id.Name, value);
            return;
        }

        var tuple = (TupleLiteral)target;
        var items = ((ArrayValue)value).Items;
        for (int j = 0; j < tuple.Items.Count; j++)
        {
            scope.Set(tuple.Items[j] is Identifier name ? name.Name : throw new TemplateError(target.Position, "loop variables must be names"), items[j]);
        }
    }

    private sealed class BreakSignal : Exception;

    private sealed class ContinueSignal : Exception;
}
