namespace MoR.Templates;

/// <summary>A problem found while lexing, parsing or evaluating, at an offset of the preprocessed source; the
/// template turns it into a <see cref="TemplateException"/> with the line in the original source.</summary>
/// <param name="position">Offset in the preprocessed source, or -1 when unknown.</param>
/// <param name="message">The problem.</param>
internal sealed class TemplateError(int position, string message) : Exception(message)
{
    public int Position { get; } = position;
}

/// <summary>The template's <c>raise_exception(message)</c>.</summary>
/// <param name="message">The template's message.</param>
internal sealed class TemplateRaisedError(string message) : Exception(message);
