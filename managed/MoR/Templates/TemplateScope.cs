namespace MoR.Templates;

/// <summary>
/// Variables visible at a point of a template. A for loop, a macro call and a call block open a new scope;
/// <c>{% set %}</c> assigns in the current one, so an assignment inside a loop is gone after it (use a namespace).
/// </summary>
internal sealed class TemplateScope(TemplateScope? parent)
{
    private readonly Dictionary<string, TemplateValue> _variables = new(StringComparer.Ordinal);
    private readonly TemplateScope? _parent = parent;

    /// <summary>Whether this scope was opened by <c>{% call %}</c>: the called macro finds <c>caller</c> here.</summary>
    public bool IsCallBlock { get; init; }

    /// <summary>Assigns in this scope.</summary>
    public void Set(string name, TemplateValue value) => _variables[name] = value;

    /// <summary>A variable of this scope only.</summary>
    public TemplateValue? GetLocal(string name) => _variables.GetValueOrDefault(name);

    /// <summary>The innermost definition of a name, or undefined.</summary>
    public TemplateValue Lookup(string name)
    {
        for (TemplateScope? s = this; s is not null; s = s._parent)
        {
            if (s._variables.TryGetValue(name, out TemplateValue? value))
            {
                return value;
            }
        }

        return UndefinedValue.Instance;
    }
}
