using System.Globalization;

namespace MoR.Templates;

/// <summary>
/// Builds the syntax tree from tokens, with @huggingface/jinja's grammar and operator precedence (loosest first):
/// <c>a if b else c</c>, <c>or</c>, <c>and</c>, <c>not</c>, comparisons and <c>in</c>, <c>+ - ~</c>, <c>* / // %</c>,
/// <c>**</c>, <c>is</c>, <c>|</c>, unary <c>- +</c>, calls and member access. Tests may also take an argument
/// (<c>x is sameas false</c>, <c>x is divisibleby(3)</c>), as in Jinja.
/// </summary>
internal sealed class TemplateParser
{
    private readonly List<TemplateToken> _tokens;
    private int _current;

    private TemplateParser(List<TemplateToken> tokens)
    {
        _tokens = tokens;
    }

    /// <summary>Parses a whole template.</summary>
    /// <param name="tokens">The tokens.</param>
    /// <returns>The top-level statements.</returns>
    /// <exception cref="TemplateError">A syntax error.</exception>
    public static List<Node> Parse(List<TemplateToken> tokens)
    {
        var parser = new TemplateParser(tokens);
        var body = new List<Node>();
        while (parser._current < tokens.Count)
        {
            body.Add(parser.ParseAny());
        }

        return body;
    }

    private TemplateToken Peek(int ahead = 0) =>
        _current + ahead < _tokens.Count ? _tokens[_current + ahead] : throw new TemplateError(EndPosition, "unexpected end of template");

    private int EndPosition => _tokens.Count == 0 ? 0 : _tokens[^1].Position;

    private bool Is(TokenType type) => _current < _tokens.Count && _tokens[_current].Type == type;

    private bool IsIdentifier(string name) => _current < _tokens.Count && _tokens[_current].Type == TokenType.Identifier && _tokens[_current].Value == name;

    private bool IsIdentifiers(string first, string second) =>
        IsIdentifier(first) && _current + 1 < _tokens.Count && _tokens[_current + 1].Type == TokenType.Identifier && _tokens[_current + 1].Value == second;

    private bool IsStatement(params string[] names) =>
        _current + 1 < _tokens.Count && _tokens[_current].Type == TokenType.OpenStatement
        && _tokens[_current + 1].Type == TokenType.Identifier && names.Contains(_tokens[_current + 1].Value);

    private TemplateToken Expect(TokenType type, string what)
    {
        if (_current >= _tokens.Count)
        {
            throw new TemplateError(EndPosition, $"expected {what}, but the template ends");
        }

        TemplateToken token = _tokens[_current++];
        return token.Type == type ? token : throw new TemplateError(token.Position, $"expected {what}, found '{token.Value}'");
    }

    private void ExpectIdentifier(string name)
    {
        if (!IsIdentifier(name))
        {
            throw new TemplateError(_current < _tokens.Count ? _tokens[_current].Position : EndPosition, $"expected '{name}'");
        }

        _current++;
    }

    // The statements of a block, up to (not including) one of the closing tags; reaching the end is an error.
    private List<Node> ParseBlock(string opener, int openedAt, params string[] closers)
    {
        var body = new List<Node>();
        while (!IsStatement(closers))
        {
            if (_current >= _tokens.Count)
            {
                throw new TemplateError(openedAt, $"{{% {opener} %}} is not closed: expected {{% {closers[^1]} %}}");
            }

            body.Add(ParseAny());
        }

        return body;
    }

    private void ExpectEnd(string name)
    {
        Expect(TokenType.OpenStatement, $"{{% {name} %}}");
        ExpectIdentifier(name);
        Expect(TokenType.CloseStatement, "'%}'");
    }

    private Node ParseAny()
    {
        TemplateToken token = Peek();
        switch (token.Type)
        {
            case TokenType.Comment:
                _current++;
                return new CommentStatement(token.Position);
            case TokenType.Text:
                _current++;
                return new StringLiteral(token.Position, token.Value);
            case TokenType.OpenStatement:
                return ParseStatement();
            case TokenType.OpenExpression:
                _current++;
                Node expression = ParseExpression();
                Expect(TokenType.CloseExpression, "'}}'");
                return expression;
            default:
                throw new TemplateError(token.Position, $"unexpected '{token.Value}'");
        }
    }

    private Node ParseStatement()
    {
        TemplateToken open = Expect(TokenType.OpenStatement, "'{%'");
        TemplateToken name = Peek();
        if (name.Type != TokenType.Identifier)
        {
            throw new TemplateError(name.Position, $"expected a statement name after '{{%', found '{name.Value}'");
        }

        _current++;
        int at = open.Position;
        switch (name.Value)
        {
            case "set":
                return ParseSet(at);
            case "if":
                {
                    IfStatement result = ParseIf(at);
                    ExpectEnd("endif");
                    return result;
                }

            case "macro":
                {
                    Node macroName = ParsePrimary();
                    if (macroName is not Identifier id)
                    {
                        throw new TemplateError(macroName.Position, "expected the macro's name after 'macro'");
                    }

                    List<Node> parameters = ParseArguments(parameters: true);
                    Expect(TokenType.CloseStatement, "'%}'");
                    List<Node> body = ParseBlock("macro", at, "endmacro");
                    ExpectEnd("endmacro");
                    return new MacroStatement(at, id.Name, parameters, body);
                }

            case "for":
                {
                    ForStatement result = ParseFor(at);
                    ExpectEnd("endfor");
                    return result;
                }

            case "call":
                {
                    List<Node> callerParameters = Is(TokenType.OpenParen) ? ParseArguments(parameters: true) : [];
                    Node callee = ParsePrimary();
                    if (callee is not Identifier)
                    {
                        throw new TemplateError(callee.Position, "expected a macro name after 'call'");
                    }

                    var call = new CallExpression(callee.Position, callee, ParseArguments(parameters: false));
                    Expect(TokenType.CloseStatement, "'%}'");
                    List<Node> body = ParseBlock("call", at, "endcall");
                    ExpectEnd("endcall");
                    return new CallStatement(at, call, callerParameters, body);
                }

            case "break":
                Expect(TokenType.CloseStatement, "'%}'");
                return new BreakStatement(at);
            case "continue":
                Expect(TokenType.CloseStatement, "'%}'");
                return new ContinueStatement(at);
            case "filter":
                {
                    Node filter = ParsePrimary();
                    if (filter is Identifier && Is(TokenType.OpenParen))
                    {
                        filter = ParseCall(filter);
                    }

                    Expect(TokenType.CloseStatement, "'%}'");
                    List<Node> body = ParseBlock("filter", at, "endfilter");
                    ExpectEnd("endfilter");
                    return new FilterStatement(at, filter, body);
                }

            default:
                throw new TemplateError(name.Position, $"unknown statement '{name.Value}'");
        }
    }

    private SetStatement ParseSet(int at)
    {
        Node target = ParseExpressionSequence(primary: false);
        Node? value = null;
        List<Node> body = [];
        if (Is(TokenType.Equals))
        {
            _current++;
            value = ParseExpressionSequence(primary: false);
        }
        else
        {
            Expect(TokenType.CloseStatement, "'=' or '%}'");
            body = ParseBlock("set", at, "endset");
            Expect(TokenType.OpenStatement, "{% endset %}");
            ExpectIdentifier("endset");
        }

        Expect(TokenType.CloseStatement, "'%}'");
        return new SetStatement(at, target, value, body);
    }

    private IfStatement ParseIf(int at)
    {
        Node test = ParseExpression();
        Expect(TokenType.CloseStatement, "'%}'");
        List<Node> body = ParseBlock("if", at, "elif", "else", "endif");
        var alternate = new List<Node>();
        if (IsStatement("elif"))
        {
            int elifAt = Peek().Position;
            _current += 2;
            alternate.Add(ParseIf(elifAt));
        }
        else if (IsStatement("else"))
        {
            _current += 2;
            Expect(TokenType.CloseStatement, "'%}'");
            alternate = ParseBlock("if", at, "endif");
        }

        return new IfStatement(at, test, body, alternate);
    }

    private ForStatement ParseFor(int at)
    {
        Node loopVariable = ParseExpressionSequence(primary: true);
        if (loopVariable is not (Identifier or TupleLiteral))
        {
            throw new TemplateError(loopVariable.Position, "expected a name or names for the loop variable");
        }

        if (!IsIdentifier("in"))
        {
            throw new TemplateError(_current < _tokens.Count ? _tokens[_current].Position : EndPosition, "expected 'in' after the loop variable");
        }

        _current++;
        Node iterable = ParseExpression();
        Expect(TokenType.CloseStatement, "'%}'");
        List<Node> body = ParseBlock("for", at, "endfor", "else");
        var otherwise = new List<Node>();
        if (IsStatement("else"))
        {
            _current += 2;
            Expect(TokenType.CloseStatement, "'%}'");
            otherwise = ParseBlock("for", at, "endfor");
        }

        return new ForStatement(at, loopVariable, iterable, body, otherwise);
    }

    private Node ParseExpressionSequence(bool primary)
    {
        int at = Peek().Position;
        var items = new List<Node> { primary ? ParsePrimary() : ParseExpression() };
        bool isTuple = Is(TokenType.Comma);
        while (isTuple)
        {
            _current++;
            items.Add(primary ? ParsePrimary() : ParseExpression());
            if (!Is(TokenType.Comma))
            {
                break;
            }
        }

        return isTuple ? new TupleLiteral(at, items) : items[0];
    }

    private Node ParseExpression()
    {
        Node value = ParseOr();
        if (!IsIdentifier("if"))
        {
            return value;
        }

        _current++;
        Node test = ParseOr();
        if (!IsIdentifier("else"))
        {
            return new SelectExpression(value.Position, value, test);
        }

        _current++;
        return new Ternary(value.Position, test, value, ParseExpression());
    }

    private Node ParseOr()
    {
        Node left = ParseAnd();
        while (IsIdentifier("or"))
        {
            _current++;
            left = new BinaryExpression(left.Position, "or", left, ParseAnd());
        }

        return left;
    }

    private Node ParseAnd()
    {
        Node left = ParseNot();
        while (IsIdentifier("and"))
        {
            _current++;
            left = new BinaryExpression(left.Position, "and", left, ParseNot());
        }

        return left;
    }

    private Node ParseNot()
    {
        if (IsIdentifier("not"))
        {
            int at = Peek().Position;
            _current++;
            return new UnaryExpression(at, "not", ParseNot());
        }

        return ParseComparison();
    }

    private Node ParseComparison()
    {
        Node left = ParseAdditive();
        while (true)
        {
            string op;
            if (IsIdentifiers("not", "in"))
            {
                op = "not in";
                _current += 2;
            }
            else if (IsIdentifier("in"))
            {
                op = "in";
                _current++;
            }
            else if (Is(TokenType.ComparisonBinaryOperator))
            {
                op = _tokens[_current++].Value;
            }
            else
            {
                return left;
            }

            left = new BinaryExpression(left.Position, op, left, ParseAdditive());
        }
    }

    private Node ParseAdditive()
    {
        Node left = ParseMultiplicative();
        while (Is(TokenType.AdditiveBinaryOperator))
        {
            string op = _tokens[_current++].Value;
            left = new BinaryExpression(left.Position, op, left, ParseMultiplicative());
        }

        return left;
    }

    private Node ParseMultiplicative()
    {
        Node left = ParsePower();
        while (Is(TokenType.MultiplicativeBinaryOperator))
        {
            string op = _tokens[_current++].Value;
            left = new BinaryExpression(left.Position, op, left, ParsePower());
        }

        return left;
    }

    private Node ParsePower()
    {
        Node left = ParseTest();
        while (Is(TokenType.ExponentiationBinaryOperator))
        {
            _current++;
            left = new BinaryExpression(left.Position, "**", left, ParseTest());
        }

        return left;
    }

    private Node ParseTest()
    {
        Node operand = ParseFilter();
        while (IsIdentifier("is"))
        {
            _current++;
            bool negate = IsIdentifier("not");
            if (negate)
            {
                _current++;
            }

            Node test = ParsePrimary();
            if (test is not Identifier name)
            {
                throw new TemplateError(test.Position, "expected a test name after 'is'");
            }

            List<Node> arguments = [];
            if (Is(TokenType.OpenParen))
            {
                arguments = ParseArguments(parameters: false);
            }
            else if (StartsTestArgument())
            {
                // Jinja's one-argument form without parentheses: "x is sameas false", "n is divisibleby 3".
                arguments = [ParseCallMember()];
            }

            operand = new TestExpression(operand.Position, operand, negate, name.Name, arguments);
        }

        return operand;
    }

    private bool StartsTestArgument()
    {
        if (_current >= _tokens.Count)
        {
            return false;
        }

        TemplateToken t = _tokens[_current];
        return t.Type is TokenType.NumericLiteral or TokenType.StringLiteral or TokenType.OpenSquareBracket or TokenType.OpenCurlyBracket
            || (t.Type == TokenType.Identifier && t.Value is not ("and" or "or" or "not" or "in" or "is" or "if" or "else"));
    }

    private Node ParseFilter()
    {
        Node operand = ParseUnarySign();
        while (Is(TokenType.Pipe))
        {
            _current++;
            Node filter = ParsePrimary();
            if (filter is not Identifier)
            {
                throw new TemplateError(filter.Position, "expected a filter name after '|'");
            }

            if (Is(TokenType.OpenParen))
            {
                filter = ParseCall(filter);
            }

            operand = new FilterExpression(operand.Position, operand, filter);
        }

        return operand;
    }

    private Node ParseUnarySign()
    {
        if (_current < _tokens.Count && _tokens[_current] is { Type: TokenType.UnaryOperator or TokenType.AdditiveBinaryOperator, Value: "-" or "+" } sign)
        {
            _current++;
            return new UnaryExpression(sign.Position, sign.Value, ParseUnarySign());
        }

        return ParseCallMember();
    }

    private Node ParseCallMember()
    {
        Node member = ParseMember(ParsePrimary());
        return Is(TokenType.OpenParen) ? ParseCall(member) : member;
    }

    private Node ParseCall(Node callee)
    {
        Node expression = new CallExpression(callee.Position, callee, ParseArguments(parameters: false));
        expression = ParseMember(expression);
        return Is(TokenType.OpenParen) ? ParseCall(expression) : expression;
    }

    // Call arguments or macro parameters: positional first, then name=value; *args and **kwargs only in calls.
    private List<Node> ParseArguments(bool parameters)
    {
        Expect(TokenType.OpenParen, "'('");
        var args = new List<Node>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        bool sawKeyword = false;
        bool sawSpread = false;
        while (!Is(TokenType.CloseParen))
        {
            TemplateToken start = Peek();
            bool keywordSpread = start.Type == TokenType.ExponentiationBinaryOperator;
            bool spread = start.Type == TokenType.MultiplicativeBinaryOperator && start.Value == "*";
            if (parameters && (keywordSpread || spread))
            {
                throw new TemplateError(start.Position, "argument unpacking is not allowed in parameter declarations");
            }

            if (keywordSpread)
            {
                _current++;
                args.Add(new KeywordSpreadArgument(start.Position, ParseExpression()));
                if (Is(TokenType.Comma))
                {
                    _current++;
                }

                if (!Is(TokenType.CloseParen))
                {
                    throw new TemplateError(start.Position, "'**' must be applied to the last argument");
                }

                break;
            }

            Node argument;
            if (spread)
            {
                if (sawSpread)
                {
                    throw new TemplateError(start.Position, "only one '*' argument unpacking is allowed");
                }

                sawSpread = true;
                _current++;
                argument = new SpreadArgument(start.Position, ParseExpression());
            }
            else
            {
                argument = ParseExpression();
                if (Is(TokenType.Equals))
                {
                    _current++;
                    if (argument is not Identifier key)
                    {
                        throw new TemplateError(argument.Position, parameters ? "expected a parameter name" : "expected a name before '=' in a keyword argument");
                    }

                    argument = new KeywordArgument(argument.Position, key.Name, ParseExpression());
                }

                if (parameters)
                {
                    string name = argument switch
                    {
                        Identifier id => id.Name,
                        KeywordArgument kw => kw.Key,
                        _ => throw new TemplateError(argument.Position, "expected a parameter name"),
                    };
                    if (!names.Add(name))
                    {
                        throw new TemplateError(argument.Position, $"duplicate parameter '{name}'");
                    }
                }

                if (argument is KeywordArgument)
                {
                    sawKeyword = true;
                }
                else if (sawKeyword)
                {
                    throw new TemplateError(argument.Position, parameters ? "a parameter without a default follows one with a default" : "a positional argument follows a keyword argument");
                }
                else if (sawSpread)
                {
                    throw new TemplateError(argument.Position, "a positional argument follows '*' unpacking");
                }
            }

            args.Add(argument);
            if (Is(TokenType.Comma))
            {
                _current++;
            }
        }

        Expect(TokenType.CloseParen, "')'");
        return args;
    }

    private Node ParseMember(Node target)
    {
        while (Is(TokenType.Dot) || Is(TokenType.OpenSquareBracket))
        {
            TemplateToken op = _tokens[_current++];
            if (op.Type == TokenType.OpenSquareBracket)
            {
                Node index = ParseSubscript(op.Position);
                Expect(TokenType.CloseSquareBracket, "']'");
                target = new MemberExpression(target.Position, target, index, Computed: true);
            }
            else
            {
                Node property = ParsePrimary();
                if (property is not (Identifier or IntegerLiteral))
                {
                    throw new TemplateError(property.Position, "expected a name or an integer after '.'");
                }

                target = new MemberExpression(target.Position, target, property, Computed: false);
            }
        }

        return target;
    }

    // The inside of [...]: one expression, or a slice start:stop:step with any part left out.
    private Node ParseSubscript(int at)
    {
        var parts = new List<Node?>();
        bool isSlice = false;
        while (!Is(TokenType.CloseSquareBracket))
        {
            if (Is(TokenType.Colon))
            {
                parts.Add(null);
                _current++;
                isSlice = true;
            }
            else
            {
                parts.Add(ParseExpression());
                if (Is(TokenType.Colon))
                {
                    _current++;
                    isSlice = true;
                }
            }
        }

        if (parts.Count == 0)
        {
            throw new TemplateError(at, "expected an index or a slice inside '[]'");
        }

        if (!isSlice)
        {
            return parts[0]!;
        }

        if (parts.Count > 3)
        {
            throw new TemplateError(at, "a slice takes at most three parts (start:stop:step)");
        }

        return new SliceExpression(at, parts.ElementAtOrDefault(0), parts.ElementAtOrDefault(1), parts.ElementAtOrDefault(2));
    }

    private Node ParsePrimary()
    {
        TemplateToken token = Peek();
        _current++;
        switch (token.Type)
        {
            case TokenType.NumericLiteral:
                double number = double.Parse(token.Value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
                return token.Value.Contains('.', StringComparison.Ordinal) ? new FloatLiteral(token.Position, number) : new IntegerLiteral(token.Position, number);
            case TokenType.StringLiteral:
                string value = token.Value;
                while (Is(TokenType.StringLiteral))
                {
                    value += _tokens[_current++].Value;
                }

                return new StringLiteral(token.Position, value);
            case TokenType.Identifier:
                return new Identifier(token.Position, token.Value);
            case TokenType.OpenParen:
                Node inner = ParseExpressionSequence(primary: false);
                Expect(TokenType.CloseParen, "')'");
                return inner;
            case TokenType.OpenSquareBracket:
                {
                    var items = new List<Node>();
                    while (!Is(TokenType.CloseSquareBracket))
                    {
                        items.Add(ParseExpression());
                        if (Is(TokenType.Comma))
                        {
                            _current++;
                        }
                    }

                    _current++;
                    return new ArrayLiteral(token.Position, items);
                }

            case TokenType.OpenCurlyBracket:
                {
                    var entries = new List<(Node, Node)>();
                    while (!Is(TokenType.CloseCurlyBracket))
                    {
                        Node key = ParseExpression();
                        Expect(TokenType.Colon, "':' between a key and its value");
                        entries.Add((key, ParseExpression()));
                        if (Is(TokenType.Comma))
                        {
                            _current++;
                        }
                    }

                    _current++;
                    return new ObjectLiteral(token.Position, entries);
                }

            default:
                throw new TemplateError(token.Position, $"unexpected '{token.Value}'");
        }
    }
}
