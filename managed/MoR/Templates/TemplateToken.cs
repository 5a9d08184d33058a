namespace MoR.Templates;

/// <summary>What a lexed piece of a template is.</summary>
internal enum TokenType
{
    /// <summary>Text between tags, output as written.</summary>
    Text,
    NumericLiteral,
    StringLiteral,
    Identifier,
    Equals,
    OpenParen,
    CloseParen,
    OpenStatement,
    CloseStatement,
    OpenExpression,
    CloseExpression,
    OpenSquareBracket,
    CloseSquareBracket,
    OpenCurlyBracket,
    CloseCurlyBracket,
    Comma,
    Dot,
    Colon,
    Pipe,

    /// <summary><c>+</c>, <c>-</c>, <c>~</c>.</summary>
    AdditiveBinaryOperator,

    /// <summary><c>*</c>, <c>/</c>, <c>//</c>, <c>%</c>.</summary>
    MultiplicativeBinaryOperator,

    /// <summary><c>**</c>.</summary>
    ExponentiationBinaryOperator,

    /// <summary><c>&lt;</c>, <c>&gt;</c>, <c>&lt;=</c>, <c>&gt;=</c>, <c>==</c>, <c>!=</c>.</summary>
    ComparisonBinaryOperator,

    /// <summary>A sign (<c>-</c>, <c>+</c>) where no operand precedes it.</summary>
    UnaryOperator,

    /// <summary><c>{# … #}</c>.</summary>
    Comment,
}

/// <summary>One lexed token.</summary>
/// <param name="Type">What it is.</param>
/// <param name="Value">Its text (for strings, the unescaped value).</param>
/// <param name="Position">Its offset in the preprocessed source.</param>
internal sealed record TemplateToken(TokenType Type, string Value, int Position);
