namespace MoR.Templates;

/// <summary>A node of a parsed template; <see cref="Position"/> is its offset in the preprocessed source.</summary>
internal abstract record Node(int Position);

/// <summary>Text outside tags, or a string literal.</summary>
internal sealed record StringLiteral(int Position, string Value) : Node(Position);

internal sealed record IntegerLiteral(int Position, double Value) : Node(Position);

internal sealed record FloatLiteral(int Position, double Value) : Node(Position);

internal sealed record ArrayLiteral(int Position, List<Node> Items) : Node(Position);

internal sealed record TupleLiteral(int Position, List<Node> Items) : Node(Position);

internal sealed record ObjectLiteral(int Position, List<(Node Key, Node Value)> Entries) : Node(Position);

internal sealed record Identifier(int Position, string Name) : Node(Position);

/// <summary><c>a.b</c>, <c>a[b]</c>, <c>a[1:2]</c>.</summary>
internal sealed record MemberExpression(int Position, Node Object, Node Property, bool Computed) : Node(Position);

internal sealed record CallExpression(int Position, Node Callee, List<Node> Arguments) : Node(Position);

internal sealed record BinaryExpression(int Position, string Operator, Node Left, Node Right) : Node(Position);

internal sealed record UnaryExpression(int Position, string Operator, Node Argument) : Node(Position);

/// <summary><c>operand | filter</c>; <see cref="Filter"/> is an <see cref="Identifier"/> or a <see cref="CallExpression"/>.</summary>
internal sealed record FilterExpression(int Position, Node Operand, Node Filter) : Node(Position);

/// <summary><c>operand is [not] test [argument]</c>.</summary>
internal sealed record TestExpression(int Position, Node Operand, bool Negate, string Test, List<Node> Arguments) : Node(Position);

/// <summary><c>value if test</c> without <c>else</c> (undefined when the test fails; also a loop filter).</summary>
internal sealed record SelectExpression(int Position, Node Value, Node Test) : Node(Position);

internal sealed record Ternary(int Position, Node Condition, Node WhenTrue, Node WhenFalse) : Node(Position);

internal sealed record SliceExpression(int Position, Node? Start, Node? Stop, Node? Step) : Node(Position);

internal sealed record KeywordArgument(int Position, string Key, Node Value) : Node(Position);

/// <summary><c>*args</c> in a call.</summary>
internal sealed record SpreadArgument(int Position, Node Argument) : Node(Position);

/// <summary><c>**kwargs</c> in a call.</summary>
internal sealed record KeywordSpreadArgument(int Position, Node Argument) : Node(Position);

internal sealed record IfStatement(int Position, Node Test, List<Node> Body, List<Node> Alternate) : Node(Position);

internal sealed record ForStatement(int Position, Node LoopVariable, Node Iterable, List<Node> Body, List<Node> Else) : Node(Position);

internal sealed record BreakStatement(int Position) : Node(Position);

internal sealed record ContinueStatement(int Position) : Node(Position);

/// <summary><c>{% set target = value %}</c>, or the block form (<see cref="Value"/> null, <see cref="Body"/> rendered).</summary>
internal sealed record SetStatement(int Position, Node Target, Node? Value, List<Node> Body) : Node(Position);

/// <summary><c>{% macro name(parameters) %}</c>; a parameter is an <see cref="Identifier"/> or a <see cref="KeywordArgument"/> with its default.</summary>
internal sealed record MacroStatement(int Position, string Name, List<Node> Parameters, List<Node> Body) : Node(Position);

/// <summary><c>{% call(parameters) macro(arguments) %}body{% endcall %}</c>.</summary>
internal sealed record CallStatement(int Position, CallExpression Call, List<Node> CallerParameters, List<Node> Body) : Node(Position);

internal sealed record FilterStatement(int Position, Node Filter, List<Node> Body) : Node(Position);

internal sealed record CommentStatement(int Position) : Node(Position);
