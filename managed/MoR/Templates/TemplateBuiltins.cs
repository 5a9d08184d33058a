using System.Globalization;
using System.Text;
using MoR.Text;

namespace MoR.Templates;

/// <summary>
/// String and dict methods, the globals a template sees (<c>range</c>, <c>namespace</c>, <c>raise_exception</c>,
/// <c>strftime_now</c>, <c>true</c>/<c>false</c>/<c>none</c> and their capitalised forms), and helpers shared by
/// filters. Behaviour is the reference's: e.g. <c>strip</c>, <c>lstrip</c> and <c>rstrip</c> remove whitespace and
/// ignore an argument, and <c>title</c> capitalises after every non-word character without lowering the rest.
/// </summary>
internal static class TemplateBuiltins
{
    /// <summary>Declares the globals in the outermost scope.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="clock">The current time for <c>strftime_now</c>.</param>
    public static void Declare(TemplateScope scope, Func<DateTimeOffset> clock)
    {
        scope.Set("namespace", new FunctionValue((args, _) => Namespace(args)));
        scope.Set("false", BooleanValue.False);
        scope.Set("true", BooleanValue.True);
        scope.Set("none", NullValue.Instance);
        scope.Set("False", BooleanValue.False);
        scope.Set("True", BooleanValue.True);
        scope.Set("None", NullValue.Instance);
        scope.Set("raise_exception", new FunctionValue((args, _) =>
            throw new TemplateRaisedError(args.Count == 0 || args[0] is UndefinedValue ? string.Empty : args[0].ToJsString())));
        scope.Set("range", new FunctionValue((args, _) => Range(args)));
        scope.Set("strftime_now", new FunctionValue((args, _) =>
            new StringValue(StrfTime(clock(), args.Count > 0 && args[0] is StringValue f ? f.Value : throw new TemplateError(-1, "strftime_now needs a format string")))));
    }

    /// <summary>A method or property of a string, or null when it has none of that name.</summary>
    public static TemplateValue? StringMethod(StringValue s, string name)
    {
        string v = s.Value;
        return name switch
        {
            "length" => new IntegerValue(v.Length),
            "upper" => Method(_ => new StringValue(v.ToUpperInvariant())),
            "lower" => Method(_ => new StringValue(v.ToLowerInvariant())),
            "strip" => Method(_ => new StringValue(EcmaWhitespace.Trim(v))),
            "lstrip" => Method(_ => new StringValue(EcmaWhitespace.TrimStart(v))),
            "rstrip" => Method(_ => new StringValue(EcmaWhitespace.TrimEnd(v))),
            "title" => Method(_ => new StringValue(Title(v))),
            "capitalize" => Method(_ => new StringValue(v.Length == 0 ? v : char.ToUpperInvariant(v[0]) + v[1..])),
            "startswith" => Method(args => BooleanValue.Of(Affix(args, "startswith").Any(p => v.StartsWith(p, StringComparison.Ordinal)))),
            "endswith" => Method(args => BooleanValue.Of(Affix(args, "endswith").Any(p => v.EndsWith(p, StringComparison.Ordinal)))),
            "split" => Method(args => Split(v, args)),
            "replace" => Method(args => Replace(v, args)),
            _ => null,
        };
    }

    /// <summary>A method of a dict (<c>get</c>, <c>items</c>, <c>keys</c>, <c>values</c>, <c>dictsort</c>), or null.</summary>
    public static TemplateValue? ObjectMethod(ObjectValue o, string name) => name switch
    {
        "get" => Method(args =>
        {
            if (args.Count == 0 || args[0] is not StringValue key)
            {
                throw new TemplateError(-1, $"get() needs a string key, not {(args.Count == 0 ? "nothing" : args[0].Described)}");
            }

            return o.Entries.TryGetValue(key.Value, out TemplateValue? found) ? found : args.Count > 1 ? args[1] : NullValue.Instance;
        }),
        "items" => Method(_ => o.Items()),
        "keys" => Method(_ => o.Keys()),
        "values" => Method(_ => o.ValuesList()),
        "dictsort" => Method(args => DictSort(o, args)),
        _ => null,
    };

    /// <summary>Python-style slicing (negative indices, any step).</summary>
    public static List<T> Slice<T>(List<T> items, double? start, double? stop, double? step)
    {
        int n = items.Count;
        int s = step is double st ? (int)st : 1;
        var result = new List<T>();
        if (s == 0)
        {
            return result; // the reference's loop runs zero times
        }

        if (s > 0)
        {
            int from = start is double a ? (a < 0 ? Math.Max(n + (int)a, 0) : Math.Min((int)a, n)) : 0;
            int to = stop is double b ? (b < 0 ? Math.Max(n + (int)b, 0) : Math.Min((int)b, n)) : n;
            for (int i = from; i < to; i += s)
            {
                result.Add(items[i]);
            }
        }
        else
        {
            int from = start is double a ? (a < 0 ? Math.Max(n + (int)a, -1) : Math.Min((int)a, n - 1)) : n - 1;
            int to = stop is double b ? (b < -1 ? Math.Max(n + (int)b, -1) : Math.Min((int)b, n - 1)) : -1;
            for (int i = from; i > to; i += s)
            {
                result.Add(items[i]);
            }
        }

        return result;
    }

    /// <summary>The code points of a string (each as a string), as JavaScript's <c>Array.from</c> gives them.</summary>
    public static List<string> CodePoints(string s)
    {
        var result = new List<string>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            int width = char.IsSurrogatePair(s, i) ? 2 : 1;
            result.Add(s.Substring(i, width));
            i += width - 1;
        }

        return result;
    }

    /// <summary>Orders two values for sorting: numbers (and booleans) by value, strings optionally ignoring case.</summary>
    public static int Compare(TemplateValue a, TemplateValue b, bool caseSensitive)
    {
        if ((a is NullValue && b is NullValue) || (a is UndefinedValue && b is UndefinedValue))
        {
            return 0;
        }

        if (a is NullValue or UndefinedValue || b is NullValue or UndefinedValue)
        {
            throw new TemplateError(-1, $"cannot compare {a.Described} with {b.Described}");
        }

        if (a is NumberValue or BooleanValue && b is NumberValue or BooleanValue)
        {
            return Number(a).CompareTo(Number(b));
        }

        if (a is StringValue x && b is StringValue y)
        {
            string l = caseSensitive ? x.Value : x.Value.ToLowerInvariant(), r = caseSensitive ? y.Value : y.Value.ToLowerInvariant();
            return string.CompareOrdinal(l, r) switch { < 0 => -1, > 0 => 1, _ => 0 };
        }

        throw new TemplateError(-1, $"cannot compare {a.Described} with {b.Described}");
    }

    /// <summary>An attribute path such as <c>function.name</c> or <c>0</c> inside dicts, namespaces and lists.</summary>
    public static TemplateValue Attribute(TemplateValue item, string path)
    {
        TemplateValue value = item;
        foreach (string part in path.Split('.'))
        {
            if (value is ObjectValue or NamespaceValue)
            {
                var entries = value is ObjectValue o ? o.Entries : ((NamespaceValue)value).Entries;
                value = entries.TryGetValue(part, out TemplateValue? v) ? v : UndefinedValue.Instance;
            }
            else if (value is ArrayValue list && int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int index) && index < list.Items.Count)
            {
                value = list.Items[index];
            }
            else
            {
                return UndefinedValue.Instance;
            }
        }

        return value;
    }

    /// <summary>The current time formatted with the directives the reference supports
    /// (<c>%Y %m %d %b %B %H %M %%</c>; others stay as written).</summary>
    public static string StrfTime(DateTimeOffset now, string format)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length || "YmdbBHM%".IndexOf(format[i + 1], StringComparison.Ordinal) < 0)
            {
                sb.Append(format[i]);
                continue;
            }

            DateTimeFormatInfo names = CultureInfo.InvariantCulture.DateTimeFormat;
            sb.Append(format[++i] switch
            {
                'Y' => now.Year.ToString(CultureInfo.InvariantCulture),
                'm' => now.Month.ToString("00", CultureInfo.InvariantCulture),
                'd' => now.Day.ToString("00", CultureInfo.InvariantCulture),
                'b' => names.AbbreviatedMonthNames[now.Month - 1],
                'B' => names.MonthNames[now.Month - 1],
                'H' => now.Hour.ToString("00", CultureInfo.InvariantCulture),
                'M' => now.Minute.ToString("00", CultureInfo.InvariantCulture),
                _ => "%",
            });
        }

        return sb.ToString();
    }

    private static double Number(TemplateValue v) => v is BooleanValue b ? (b.Value ? 1 : 0) : ((NumberValue)v).Value;

    private static FunctionValue Method(Func<List<TemplateValue>, TemplateValue> body) => new((args, _) => body(args));

    // JavaScript's /\b\w/g upper-cased: the first ASCII word character after a non-word one.
    private static string Title(string v)
    {
        var chars = v.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (IsAsciiWord(chars[i]) && (i == 0 || !IsAsciiWord(chars[i - 1])))
            {
                chars[i] = char.ToUpperInvariant(chars[i]);
            }
        }

        return new string(chars);
    }

    private static bool IsAsciiWord(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static IEnumerable<string> Affix(List<TemplateValue> args, string name) => args.Count == 0
        ? throw new TemplateError(-1, $"{name}() needs an argument")
        : args[0] switch
        {
            StringValue s => [s.Value],
            ArrayValue list => list.Items.Select(i => i is StringValue s ? s.Value : throw new TemplateError(-1, $"{name}() takes a string or a tuple of strings")),
            _ => throw new TemplateError(-1, $"{name}() takes a string or a tuple of strings"),
        };

    // Python's str.split(sep=None, maxsplit=-1).
    private static ArrayValue Split(string v, List<TemplateValue> args)
    {
        TemplateValue sep = args.Count > 0 ? args[0] : NullValue.Instance;
        TemplateValue max = args.Count > 1 ? args[1] : new IntegerValue(-1);
        if (max is not IntegerValue maxSplit)
        {
            throw new TemplateError(-1, "split(): maxsplit must be an integer");
        }

        var parts = new List<string>();
        if (sep is NullValue)
        {
            string text = EcmaWhitespace.TrimStart(v);
            int i = 0;
            while (i < text.Length)
            {
                int start = i;
                while (i < text.Length && !EcmaWhitespace.Is(text[i]))
                {
                    i++;
                }

                if (maxSplit.Value >= 0 && parts.Count >= maxSplit.Value)
                {
                    parts.Add(text[start..]);
                    break;
                }

                parts.Add(text[start..i]);
                while (i < text.Length && EcmaWhitespace.Is(text[i]))
                {
                    i++;
                }
            }
        }
        else if (sep is StringValue s)
        {
            if (s.Value.Length == 0)
            {
                throw new TemplateError(-1, "split(): empty separator");
            }

            parts.AddRange(v.Split(s.Value));
            if (maxSplit.Value >= 0 && parts.Count > maxSplit.Value)
            {
                int keep = (int)maxSplit.Value;
                string rest = string.Join(s.Value, parts.Skip(keep));
                parts.RemoveRange(keep, parts.Count - keep);
                parts.Add(rest);
            }
        }
        else
        {
            throw new TemplateError(-1, "split(): the separator must be a string or none");
        }

        return new ArrayValue([.. parts.Select(p => (TemplateValue)new StringValue(p))]);
    }

    // str.replace(old, new[, count]); an empty 'old' inserts between every code point, as the reference does.
    private static StringValue Replace(string v, List<TemplateValue> args)
    {
        if (args.Count < 2 || args[0] is not StringValue old || args[1] is not StringValue replacement)
        {
            throw new TemplateError(-1, "replace() needs two strings");
        }

        TemplateValue countArg = args.Count > 2 ? (args[2] is KeywordArgumentsValue kw ? kw.Entries.GetValueOrDefault("count") ?? NullValue.Instance : args[2]) : NullValue.Instance;
        double count = countArg switch
        {
            IntegerValue c => c.Value,
            NullValue => -1,
            _ => throw new TemplateError(-1, "replace(): count must be an integer or none"),
        };
        if (count == 0)
        {
            return new StringValue(v);
        }

        double remaining = count < 0 ? double.PositiveInfinity : count;
        var sb = new StringBuilder();
        if (old.Value.Length == 0)
        {
            foreach (string cp in CodePoints(v))
            {
                if (remaining-- > 0)
                {
                    sb.Append(replacement.Value);
                }

                sb.Append(cp);
            }

            if (remaining > 0)
            {
                sb.Append(replacement.Value);
            }

            return new StringValue(sb.ToString());
        }

        int at = 0;
        while (remaining > 0)
        {
            int found = v.IndexOf(old.Value, at, StringComparison.Ordinal);
            if (found < 0)
            {
                break;
            }

            sb.Append(v, at, found - at).Append(replacement.Value);
            at = found + old.Value.Length;
            remaining--;
        }

        return new StringValue(sb.Append(v, at, v.Length - at).ToString());
    }

    private static ArrayValue DictSort(ObjectValue o, List<TemplateValue> args)
    {
        var kwargs = new OrderedDictionary<string, TemplateValue>();
        var positional = new List<TemplateValue>();
        foreach (TemplateValue a in args)
        {
            if (a is KeywordArgumentsValue kw)
            {
                kwargs = kw.Entries;
            }
            else
            {
                positional.Add(a);
            }
        }

        bool caseSensitive = Flag(positional.ElementAtOrDefault(0) ?? kwargs.GetValueOrDefault("case_sensitive"), "case_sensitive");
        string by = (positional.ElementAtOrDefault(1) ?? kwargs.GetValueOrDefault("by")) switch
        {
            null => "key",
            StringValue { Value: "key" or "value" } s => s.Value,
            _ => throw new TemplateError(-1, "dictsort(): by must be 'key' or 'value'"),
        };
        bool reverse = Flag(positional.ElementAtOrDefault(2) ?? kwargs.GetValueOrDefault("reverse"), "reverse");
        int index = by == "key" ? 0 : 1;
        var pairs = o.Items().Items.Cast<ArrayValue>().ToList();
        var sorted = pairs.Order(Comparer<ArrayValue>.Create((x, y) =>
        {
            int c = Compare(x.Items[index], y.Items[index], caseSensitive);
            return reverse ? -c : c;
        }));
        return new ArrayValue([.. sorted]);
    }

    private static bool Flag(TemplateValue? v, string name) => v switch
    {
        null => false,
        BooleanValue b => b.Value,
        _ => throw new TemplateError(-1, $"{name} must be a boolean"),
    };

    private static ArrayValue Range(List<TemplateValue> args)
    {
        double[] n = [.. args.Select(a => a is NumberValue v ? v.Value : throw new TemplateError(-1, "range() takes integers"))];
        (double start, double stop, double step) = n.Length switch
        {
            1 => (0, n[0], 1),
            2 => (n[0], n[1], 1),
            3 => (n[0], n[1], n[2]),
            _ => throw new TemplateError(-1, "range() takes one to three arguments"),
        };
        if (step == 0)
        {
            throw new TemplateError(-1, "range() step must not be zero");
        }

        var result = new List<TemplateValue>();
        for (double i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            result.Add(i % 1 == 0 ? new IntegerValue(i) : new FloatValue(i));
        }

        return new ArrayValue(result);
    }

    private static NamespaceValue Namespace(List<TemplateValue> args)
    {
        var positional = new List<TemplateValue>(args);
        KeywordArgumentsValue? kwargs = positional.Count > 0 && positional[^1] is KeywordArgumentsValue k ? k : null;
        if (kwargs is not null)
        {
            positional.RemoveAt(positional.Count - 1);
        }

        if (positional.Count > 1)
        {
            throw new TemplateError(-1, $"namespace() takes at most one positional argument, got {positional.Count}");
        }

        var entries = new OrderedDictionary<string, TemplateValue>(StringComparer.Ordinal);
        if (positional.Count == 1)
        {
            switch (positional[0])
            {
                case ObjectValue source:
                    foreach ((string key, TemplateValue value) in source.Entries)
                    {
                        entries[key] = value;
                    }

                    break;
                case ArrayValue pairs:
                    foreach (TemplateValue pair in pairs.Items)
                    {
                        if (pair is not ArrayValue { Items.Count: 2 } kv || kv.Items[0] is not StringValue key)
                        {
                            throw new TemplateError(-1, "namespace() expects a dict or a list of [key, value] pairs with string keys");
                        }

                        entries[key.Value] = kv.Items[1];
                    }

                    break;
                default:
                    throw new TemplateError(-1, $"namespace() cannot read {positional[0].Described}");
            }
        }

        if (kwargs is not null)
        {
            foreach ((string key, TemplateValue value) in kwargs.Entries)
            {
                entries[key] = value;
            }
        }

        return new NamespaceValue(entries);
    }
}
