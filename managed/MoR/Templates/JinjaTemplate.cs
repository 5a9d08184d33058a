using System.Collections;
using System.Text;

namespace MoR.Templates;

/// <summary>
/// A Jinja template as Hugging Face chat templates use the language: <c>for</c>/<c>if</c>/<c>elif</c>/<c>else</c>,
/// <c>set</c> (also the block form), <c>namespace</c>, <c>loop</c>, macros and <c>call</c>, <c>filter</c> blocks,
/// tests, filters, string and dict methods, slicing, <c>raise_exception</c> and <c>strftime_now</c>, with
/// <c>trim_blocks</c> and <c>lstrip_blocks</c> on (as transformers configures Jinja). Renderings equal
/// @huggingface/jinja's byte for byte on the real templates in tests/MoR.Tests/Templates/Golden.
/// </summary>
public sealed class JinjaTemplate
{
    private readonly TemplateSource _source;
    private readonly List<Node> _body;

    private JinjaTemplate(string name, TemplateSource source, List<Node> body)
    {
        Name = name;
        _source = source;
        _body = body;
    }

    /// <summary>The name messages use (e.g. the file or model the template came from).</summary>
    public string Name { get; }

    /// <summary>Whether the template marks the assistant's output with <c>{% generation %}</c> blocks.</summary>
    public bool HasGenerationBlocks => _source.HasGenerationBlocks;

    /// <summary>Parses a template.</summary>
    /// <param name="source">The template text.</param>
    /// <param name="name">Its name, for messages.</param>
    /// <returns>The template.</returns>
    /// <exception cref="TemplateException">A syntax error (the message names the template and the line).</exception>
    public static JinjaTemplate Parse(string source, string name)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(name);
        TemplateSource preprocessed;
        try
        {
            preprocessed = TemplateSource.Create(source);
        }
        catch (TemplateError e)
        {
            throw new TemplateException(name, null, e.Message);
        }

        try
        {
            return new JinjaTemplate(name, preprocessed, TemplateParser.Parse(TemplateLexer.Tokenize(preprocessed.Text)));
        }
        catch (TemplateError e)
        {
            throw new TemplateException(name, preprocessed.LineOf(e.Position), e.Message);
        }
    }

    /// <summary>Renders the template.</summary>
    /// <param name="variables">The variables: strings, booleans, numbers, null, lists (<see cref="IEnumerable"/>) and
    /// dicts (<see cref="IReadOnlyDictionary{TKey, TValue}"/> with string keys), nested freely.</param>
    /// <param name="clock">The current time for <c>strftime_now</c>; the local time when null.</param>
    /// <returns>The text.</returns>
    /// <exception cref="TemplateException">An error while rendering, or the template's <c>raise_exception</c>.</exception>
    public string Render(IReadOnlyDictionary<string, object?> variables, Func<DateTimeOffset>? clock = null) =>
        RenderWithGenerationSpans(variables, clock).Text;

    /// <summary>Renders the template and reports which parts of the text its <c>{% generation %}</c> blocks wrote.</summary>
    /// <param name="variables">The variables, as for <see cref="Render"/>.</param>
    /// <param name="clock">The current time for <c>strftime_now</c>; the local time when null.</param>
    /// <returns>The text and the (start, length) ranges written inside generation blocks, in order.</returns>
    /// <exception cref="TemplateException">An error while rendering, or the template's <c>raise_exception</c>.</exception>
    public (string Text, IReadOnlyList<(int Start, int Length)> GenerationSpans) RenderWithGenerationSpans(
        IReadOnlyDictionary<string, object?> variables, Func<DateTimeOffset>? clock = null)
    {
        ArgumentNullException.ThrowIfNull(variables);
        Func<DateTimeOffset> now = clock ?? (() => DateTimeOffset.Now);
        var scope = new TemplateScope(null);
        TemplateBuiltins.Declare(scope, now);
        foreach ((string key, object? value) in variables)
        {
            scope.Set(key, Convert(value));
        }

        string raw;
        try
        {
            raw = new TemplateInterpreter().RenderBlock(_body, scope);
        }
        catch (TemplateRaisedError e)
        {
            throw new TemplateException(Name, null, e.Message, raisedByTemplate: true);
        }
        catch (TemplateError e)
        {
            throw new TemplateException(Name, e.Position >= 0 ? _source.LineOf(e.Position) : null, e.Message);
        }
        catch (InsufficientExecutionStackException)
        {
            throw new TemplateException(Name, null, "recursion too deep (a macro that calls itself without end?)");
        }

        return ExtractSpans(raw);
    }

    // Removes the generation markers; the text between a start and its end marker is the assistant's.
    private static (string, IReadOnlyList<(int, int)>) ExtractSpans(string raw)
    {
        var text = new StringBuilder(raw.Length);
        var spans = new List<(int, int)>();
        int depth = 0, start = 0;
        foreach (char c in raw)
        {
            if (c == TemplateSource.GenerationStart)
            {
                if (depth++ == 0)
                {
                    start = text.Length;
                }
            }
            else if (c == TemplateSource.GenerationEnd)
            {
                if (depth > 0 && --depth == 0 && text.Length > start)
                {
                    spans.Add((start, text.Length - start));
                }
            }
            else
            {
                text.Append(c);
            }
        }

        return (text.ToString(), spans);
    }

    private static TemplateValue Convert(object? value) => value switch
    {
        null => NullValue.Instance,
        TemplateValue v => v,
        string s => new StringValue(s),
        bool b => BooleanValue.Of(b),
        int or long or short or byte => new IntegerValue(System.Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture)),
        double d => d % 1 == 0 ? new IntegerValue(d) : new FloatValue(d),
        float f => new FloatValue(f),
        IReadOnlyDictionary<string, object?> dict => new ObjectValue(new OrderedDictionary<string, TemplateValue>(
            dict.Select(p => new KeyValuePair<string, TemplateValue>(p.Key, Convert(p.Value))), StringComparer.Ordinal)),
        IEnumerable list => new ArrayValue([.. list.Cast<object?>().Select(Convert)]),
        _ => throw new ArgumentException($"A template variable cannot be a {value.GetType().Name}.", nameof(value)),
    };
}
