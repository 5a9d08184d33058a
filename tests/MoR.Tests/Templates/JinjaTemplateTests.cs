using System.Text.Json;
using MoR.Templates;

namespace MoR.Tests.Templates;

/// <summary>
/// Each construct of the template engine on its own. The expected strings of the theories are what @huggingface/jinja
/// 0.5.13 renders for the same template and variables (checked when they were written), so they pin the reference's
/// behaviour, quirks included; the facts after them cover error messages, generation blocks and the tests the
/// reference lacks.
/// </summary>
public sealed class JinjaTemplateTests
{
    private static readonly DateTimeOffset FixedNow = new(2025, 3, 4, 5, 6, 7, TimeSpan.Zero);

    /// <summary>for, for-else, loop variables, loop filters, tuple unpacking, dict iteration, break, continue (the reference drops what a continued iteration wrote), if/elif/else.</summary>
    [Theory]
    [InlineData("{% for x in [1,2,3] %}{{ x }}{% endfor %}", "{}", "123")]
    [InlineData("{% for x in [] %}a{% else %}empty{% endfor %}", "{}", "empty")]
    [InlineData("{% for x in ['a','b','c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}", "{}", "1032truefalse3|2121falsefalse3|3210falsetrue3|")]
    [InlineData("{% for x in [1,2,3] %}{{ loop.previtem }}-{{ loop.nextitem }},{% endfor %}", "{}", "-2,1-3,2-,")]
    [InlineData("{% for x in [1,2,3,4] if x is even %}{{ x }}{% endfor %}", "{}", "24")]
    [InlineData("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}", "{}", "a=1;b=2;")]
    [InlineData("{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}", "{}", "xy")]
    [InlineData("{% for x in [1,2,3,4] %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}", "{}", "12")]
    [InlineData("{% for x in [1,2,3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% endfor %}", "{}", "13")]
    [InlineData("{% for x in [1,2] %}a{% if x == 1 %}{% continue %}{% endif %}b{% endfor %}", "{}", "ab")]
    [InlineData("{% if x > 2 %}big{% elif x > 0 %}small{% else %}none{% endif %}", "{\"x\":1}", "small")]
    [InlineData("{% if x > 2 %}big{% elif x > 0 %}small{% else %}none{% endif %}", "{\"x\":5}", "big")]
    [InlineData("{% if x > 2 %}big{% elif x > 0 %}small{% else %}none{% endif %}", "{\"x\":0}", "none")]
    public void ControlFlowRendersAsTheReference(string template, string variables, string expected) => Assert.Equal(expected, Render(template, variables));

    /// <summary>set (scoped to the loop), namespace, block set, tuple set, macros with defaults, call/caller, varargs/kwargs, filter blocks, comments.</summary>
    [Theory]
    [InlineData("{% set a = 1 %}{% for x in [1] %}{% set a = 2 %}{% endfor %}{{ a }}", "{}", "1")]
    [InlineData("{% set ns = namespace(a=1) %}{% for x in [1,2] %}{% set ns.a = ns.a + x %}{% endfor %}{{ ns.a }}", "{}", "4")]
    [InlineData("{% set b %}hello {{ 'world' }}{% endset %}{{ b | upper }}", "{}", "HELLO WORLD")]
    [InlineData("{% set a, b = [1, 2] %}{{ b }}{{ a }}", "{}", "21")]
    [InlineData("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', punct='?') }}", "{}", "Hi Ann! Hi Bob?")]
    [InlineData("{% macro wrap() %}[{{ caller() }}]{% endmacro %}{% call wrap() %}inside{% endcall %}", "{}", "[inside]")]
    [InlineData("{% macro f(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ f(1, 2, 3, x=4) }}", "{}", "1[2, 3]{\"x\": 4}")]
    [InlineData("{% filter upper %}abc{% endfilter %}", "{}", "ABC")]
    [InlineData("a{# c #}b", "{}", "ab")]
    [InlineData("a {#- c -#} b", "{}", "ab")]
    public void AssignmentsMacrosAndBlocksRenderAsTheReference(string template, string variables, string expected) => Assert.Equal(expected, Render(template, variables));

    /// <summary>{%- -%}, {{- -}}, {#- -#}, trim_blocks and lstrip_blocks.</summary>
    [Theory]
    [InlineData("  a  {%- if true -%}  b  {%- endif -%}  c", "{}", "  abc")]
    [InlineData("{% if true %}\nx\n{% endif %}\ny", "{}", "x\ny")]
    [InlineData("line\n    {% if true %}yes{% endif %}", "{}", "line\nyes")]
    [InlineData("a {{- 'b' -}} c", "{}", "abc")]
    [InlineData("{%- set x = 1 -%}\n  {{ x }}  \n{%- if x %} y {% endif -%}  \n z", "{}", "1 y z")]
    public void WhitespaceControlIsTheReferences(string template, string variables, string expected) => Assert.Equal(expected, Render(template, variables));

    /// <summary>arithmetic (JavaScript's remainder sign), ~ and string +, logic returning operands, in / not in, conditional expressions, slicing, member access, literals, float printing, unary signs, == on lists by identity, adjacent string literals and escapes.</summary>
    [Theory]
    [InlineData("{{ 7 // 2 }} {{ 7 / 2 }} {{ 7 % 3 }} {{ 2 ** 10 }} {{ -7 % 3 }} {{ 1 + 2.0 }}", "{}", "3 3.5 1 1024 -1 3.0")]
    [InlineData("{{ 'a' ~ 1 ~ 2.5 ~ true }} {{ 'x' + 1 }} {{ 'a' ~ undefinedvar ~ 'b' }}", "{}", "a12.5true x1 ab")]
    [InlineData("{{ 1 < 2 and 2 < 3 }} {{ not false }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ none or 'd' }} {{ 0 and 'e' }}", "{}", "true true true true d 0")]
    [InlineData("{{ 'b' in 'abc' }} {{ 2 in [1,2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1,2] }} {{ 'z' in undefinedvar }}", "{}", "true true true true false")]
    [InlineData("{{ 'y' if 1 > 0 else 'n' }}|{{ 'z' if false }}|", "{}", "y||")]
    [InlineData("{{ [1,2,3,4][1:3] }} {{ 'hello'[::-1] }} {{ [1,2,3][-1] }} {{ 'abc'[1] }} {{ [1,2,3,4,5][::2] }} {{ [1,2,3][5:] }}", "{}", "[2, 3] olleh 3 b [1, 3, 5] []")]
    [InlineData("{{ m.role }} {{ m['content'] }} {{ m.missing is defined }} {{ m.missing.deeper is defined }}", "{\"m\":{\"role\":\"user\",\"content\":\"hi\"}}", "user hi false false")]
    [InlineData("{{ {'a': [1, 'x', none, true]} }} {{ 2.0 }} {{ 0.1 + 0.2 }} {{ 10 / 4 }}", "{}", "{\"a\": [1, \"x\", null, true]} 2.0 0.30000000000000004 2.5")]
    [InlineData("{{ -3 | abs }} {{ - 2 }} {{ -(1 + 2) }}", "{}", "3 -2 -3")]
    [InlineData("{{ x == y }} {{ x == x }} {{ [] == [] }}", "{\"x\":[1],\"y\":[1]}", "false true false")]
    [InlineData("{{ 'a' \"b\" }} {{ '\\x41\\u00e9\\t' }}|", "{}", "ab Aé\t|")]
    public void ExpressionsEvaluateAsTheReference(string template, string variables, string expected) => Assert.Equal(expected, Render(template, variables));

    /// <summary>is defined / none / string / mapping / iterable / odd / even / number / integer / boolean / not none.</summary>
    [Theory]
    [InlineData("{{ x is defined }} {{ y is defined }} {{ none is none }} {{ 's' is string }} {{ {} is mapping }} {{ [] is iterable }} {{ 's' is iterable }} {{ 3 is odd }} {{ 4 is even }} {{ 1 is number }} {{ 1 is integer }} {{ true is boolean }} {{ x is not none }}", "{\"x\":1}", "true false true true true true true true true true true true true")]
    public void TestsAreTheReferences(string template, string variables, string expected) => Assert.Equal(expected, Render(template, variables));

    /// <summary>trim, upper, lower, length, first, last, join, title, replace, capitalize, tojson (indent, ensure_ascii, sort_keys), selectattr / rejectattr / map, items, default, list, string, int, float, sort, reverse, unique, indent.</summary>
    [Theory]
    [InlineData("{{ ' a ' | trim }}|{{ 'ab' | upper }}|{{ 'AB' | lower }}|{{ [1,2,3] | length }}|{{ 'abc' | length }}|{{ [1,2] | first }}{{ [1,2] | last }}|{{ ['a','b'] | join(', ') }}|{{ 'hello wORLD' | title }}|{{ 'xx' | replace('x', 'y') }}|{{ 'ab' | capitalize }}", "{}", "a|AB|ab|3|3|12|a, b|Hello WORLD|yy|Ab")]
    [InlineData("{{ d | tojson }}|{{ e | tojson(indent=2) }}|{{ 'é' | tojson(ensure_ascii=true) }}|{{ f | tojson(sort_keys=true) }}|{{ 'a\nb\"' | tojson }}", "{\"d\":{\"a\":\"é\\\"\",\"b\":[1,2.5]},\"e\":{\"a\":[1]},\"f\":{\"b\":1,\"a\":2}}", "{\"a\": \"é\\\"\", \"b\": [1, 2.5]}|{\n  \"a\": [\n    1\n  ]\n}|\"\\u00e9\"|{\"a\": 2, \"b\": 1}|\"a\\nb\\\"\"")]
    [InlineData("{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }}|{{ msgs | rejectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }}|{{ msgs | selectattr('flag') | length }}", "{\"msgs\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\",\"flag\":true},{\"role\":\"user\",\"content\":\"c\"}]}", "a,c|b|1")]
    [InlineData("{% for k, v in {'a': 1} | items %}{{ k }}{{ v }}{% endfor %}|{{ undefinedvar | default('d') }}|{{ '' | default('e', true) }}|{{ '' | default('e') }}|{{ [1] | list }}|{{ 5 | string }}|{{ '42x' | int }}|{{ 3.9 | int }}|{{ true | int }}|{{ 'x' | int(7) }}|{{ '2.5' | float }}", "{}", "a1|d|e||[1]|5|42|3|1|7|2.5")]
    [InlineData("{{ [3, 1, 2] | sort }}|{{ [1, 2] | reverse }}|{{ [1, 1, 2] | unique }}|{{ 'a\nb' | indent(2) }}|{{ [{'n': 2}, {'n': 1}] | sort(attribute='n') | map(attribute='n') | join }}", "{}", "[1, 2, 3]|[2, 1]|[1, 2]|a\n  b|12")]
    public void FiltersAreTheReferences(string template, string variables, string expected) => Assert.Equal(expected, Render(template, variables));

    /// <summary>strip / lstrip / rstrip (whitespace, arguments ignored), split, startswith, endswith, replace with a count, title, upper, lower, length; get, keys, values, items.</summary>
    [Theory]
    [InlineData("{{ '  x  '.strip() }}|{{ 'a,b,c'.split(',') }}|{{ 'abc'.startswith('a') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ '\nxa\n'.lstrip() }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'hi there'.title() }}|{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}|{{ ' a b  c '.split() }}|{{ 'a-b-c'.split('-', 1) }}|{{ 'x\n'.rstrip('\n') }}|{{ 'ab'.length }}", "{}", "x|[\"a\", \"b\", \"c\"]|true|true|xa\n|bba|Hi There|HIhi|[\"a\", \"b\", \"c\"]|[\"a\", \"b-c\"]|x|2")]
    [InlineData("{{ d.get('a') }}|{{ d.get('z', 'q') }}|{{ d.get('z') }}|{{ d.keys() }}|{{ d.values() }}|{{ d.items() }}", "{\"d\":{\"a\":1,\"b\":2}}", "1|q||[\"a\", \"b\"]|[1, 2]|[[\"a\", 1], [\"b\", 2]]")]
    public void StringAndDictMethodsAreTheReferences(string template, string variables, string expected) => Assert.Equal(expected, Render(template, variables));

    /// <summary>range, strftime_now at a fixed instant, true/True/none/None.</summary>
    [Theory]
    [InlineData("{% for i in range(3) %}{{ i }}{% endfor %}{% for i in range(1, 7, 2) %}{{ i }}{% endfor %}{% for i in range(3, 0, -1) %}{{ i }}{% endfor %}", "{}", "012135321")]
    [InlineData("{{ strftime_now('%Y-%m-%d %H:%M %b %B %% %j') }}", "{}", "2025-03-04 05:06 Mar March % %j")]
    [InlineData("{{ true }} {{ True }} {{ none }}|{{ None }}|{{ false == False }}", "{}", "true true ||true")]
    public void GlobalsAreTheReferences(string template, string variables, string expected) => Assert.Equal(expected, Render(template, variables));

    [Fact]
    public void TestsMayTakeAnArgumentAsInJinja()
    {
        Assert.Equal("true false true", Render("{{ 1 is equalto 1 }} {{ 1 is equalto(2) }} {{ 6 is divisibleby 3 }}", "{}"));
        Assert.Equal("true false true false", Render("{{ x is sameas false }} {{ x is sameas 0 }} {{ l is sameas l }} {{ l is sameas [] }}", """{"x": false, "l": []}"""));
        Assert.Equal("true false", Render("{{ 2 is in [1, 2] }} {{ 'k' is in {'j': 1} }}", "{}"));
    }

    [Fact]
    public void GenerationBlocksRenderNothingAndMarkWhatTheyWrap()
    {
        const string Source = "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}[{{ m.content }}]{% endgeneration %}{% else %}{{ m.content }}{% endif %}{% endfor %}";
        JinjaTemplate t = JinjaTemplate.Parse(Source, "t");
        Assert.True(t.HasGenerationBlocks);
        (string text, IReadOnlyList<(int Start, int Length)> spans) = t.RenderWithGenerationSpans(Variables("""{"messages": [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}, {"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2"}]}"""));
        Assert.Equal("q1[a1]q2[a2]", text);
        Assert.Equal([(2, 4), (8, 4)], spans);
        Assert.False(JinjaTemplate.Parse("{{ x }}", "t").HasGenerationBlocks);
    }

    [Fact]
    public void GenerationTagsTakePartInWhitespaceControl()
    {
        // "{%- generation -%}" trims around itself like any tag; what it marks starts where it stood.
        JinjaTemplate t = JinjaTemplate.Parse("a  \n{%- generation -%}\n  b{%- endgeneration %}  \n{{- 'c' }}", "t");
        (string text, IReadOnlyList<(int Start, int Length)> spans) = t.RenderWithGenerationSpans(Variables("{}"));
        Assert.Equal("abc", text);
        Assert.Equal([(1, 1)], spans);
    }

    [Theory]
    [InlineData("{% if x %}a", "line 1: {% if %} is not closed: expected {% endif %}")]
    [InlineData("a\nb\n{% for x in y %}\n{% endif %}", "line 4: unknown statement 'endif'")]
    [InlineData("{{ 'abc }}", "line 1: a string literal is not closed")]
    [InlineData("x\n{{ 1 + }}", "line 2: unexpected '}}'")]
    [InlineData("{{ a ! b }}", "line 1: unexpected character '!'")]
    [InlineData("{% for 1 in x %}{% endfor %}", "line 1: expected a name or names for the loop variable")]
    [InlineData("{% macro m(a=1, b) %}{% endmacro %}", "line 1: a parameter without a default follows one with a default")]
    [InlineData("{{ '\\q' }}", "line 1: unknown escape sequence \\q in a string literal")]
    [InlineData("{% frobnicate %}", "line 1: unknown statement 'frobnicate'")]
    public void SyntaxErrorsNameTheTemplateAndLine(string source, string expected)
    {
        var e = Assert.Throws<TemplateException>(() => JinjaTemplate.Parse(source, "'models/x/tokenizer_config.json'"));
        Assert.Equal($"chat template 'models/x/tokenizer_config.json', {expected}", e.Message);
        Assert.False(e.RaisedByTemplate);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("{{ 1 + none }}", "line 1: cannot apply '+' to none")]
    [InlineData("a\n\n{{ undefinedvar + 1 }}", "line 3: cannot apply '+' to an undefined value")]
    [InlineData("{{ 'a' | nosuch }}", "line 1: the 'nosuch' filter does not apply to a string")]
    [InlineData("{{ nosuch() }}", "line 1: 'nosuch' is not a function (it is undefined)")]
    [InlineData("{{ 'a'.nosuch() }}", "line 1: '.nosuch' is not a function (it is undefined)")]
    [InlineData("{{ 1 is nosuch }}", "line 1: unknown test 'nosuch'")]
    [InlineData("{{ 'a' is odd }}", "line 1: the 'odd' test needs an integer, not a string")]
    [InlineData("{% for x in 'abc' %}{% endfor %}", "line 1: cannot loop over a string")]
    [InlineData("{% set x.y = 1 %}", "line 1: attributes can only be assigned on a namespace()")]
    [InlineData("{{ 1 < 'a' }}", "line 1: operator '<' is not supported between an integer and a string")]
    [InlineData("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", "line 1: macro 'm' takes at most 1 argument(s), got 2")]
    [InlineData("{% macro m(a) %}{% endmacro %}{{ m(b=2) }}", "line 1: macro 'm' takes no keyword argument 'b'")]
    [InlineData("{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}", "recursion too deep (a macro that calls itself without end?)")]
    public void RenderErrorsNameTheTemplateAndLine(string source, string expected)
    {
        JinjaTemplate t = JinjaTemplate.Parse(source, "t");
        var e = Assert.Throws<TemplateException>(() => t.Render(Variables("{}")));
        Assert.Equal($"chat template t{(expected.StartsWith("line", StringComparison.Ordinal) ? ", " : ": ")}{expected}", e.Message);
    }

    [Fact]
    public void RaiseExceptionIsTheTemplatesOwnMessage()
    {
        JinjaTemplate t = JinjaTemplate.Parse("{% if messages | length == 0 %}{{ raise_exception('Conversation is empty') }}{% endif %}ok", "gemma");
        var e = Assert.Throws<TemplateException>(() => t.Render(Variables("""{"messages": []}""")));
        Assert.True(e.RaisedByTemplate);
        Assert.Equal("Conversation is empty", e.Problem);
        Assert.Equal("chat template gemma raised an error: Conversation is empty", e.Message);
        Assert.Equal("ok", t.Render(Variables("""{"messages": [1]}""")));
    }

    [Fact]
    public void VariablesOfUnsupportedTypesAreRefused() =>
        Assert.Throws<ArgumentException>(() => JinjaTemplate.Parse("{{ x }}", "t").Render(new Dictionary<string, object?> { ["x"] = new object() }));

    [Fact]
    public void StrftimeNowUsesTheClockGiven()
    {
        JinjaTemplate t = JinjaTemplate.Parse("{{ strftime_now('%d %b %Y') }}", "t");
        Assert.Equal("31 Dec 1999", t.Render(Variables("{}"), () => new DateTimeOffset(1999, 12, 31, 23, 0, 0, TimeSpan.Zero)));
    }

    private static string Render(string template, string variables) => JinjaTemplate.Parse(template, "t").Render(Variables(variables), () => FixedNow);

    private static Dictionary<string, object?> Variables(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        return doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => ToObject(p.Value));
    }

    private static object? ToObject(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => (IReadOnlyDictionary<string, object?>)e.EnumerateObject().ToDictionary(p => p.Name, p => ToObject(p.Value)),
        JsonValueKind.Array => e.EnumerateArray().Select(ToObject).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };
}
