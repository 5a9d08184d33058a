namespace MoR.Templates;

/// <summary>
/// A chat template that cannot be parsed or rendered: a syntax error, an operation the values do not support, or
/// the template's own <c>raise_exception(...)</c>. The message is one line naming the template and the problem.
/// </summary>
public sealed class TemplateException : InvalidOperationException
{
    internal TemplateException(string templateName, int? line, string problem, bool raisedByTemplate = false)
        : base(raisedByTemplate
            ? $"chat template {templateName} raised an error: {problem}"
            : $"chat template {templateName}{(line is int l ? $", line {l}" : string.Empty)}: {problem}")
    {
        TemplateName = templateName;
        Line = line;
        Problem = problem;
        RaisedByTemplate = raisedByTemplate;
    }

    /// <summary>The template's name (e.g. the model folder it came from).</summary>
    public string TemplateName { get; }

    /// <summary>The line of the template source where the problem is, when known.</summary>
    public int? Line { get; }

    /// <summary>The problem alone, without the template's name.</summary>
    public string Problem { get; }

    /// <summary>Whether the template itself called <c>raise_exception</c> (the problem is its message).</summary>
    public bool RaisedByTemplate { get; }
}
