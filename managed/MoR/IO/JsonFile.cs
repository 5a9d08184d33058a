using System.Text.Json;
using System.Text.Json.Nodes;

namespace MoR.IO;

/// <summary>
/// Reads the project's JSON files strictly — no comments, no trailing commas, no repeated keys, no NaN
/// literals (JSON has none) — and turns every parser failure into a <see cref="JsonFileException"/> that
/// names the file, line and byte, so no reader lets a bare <see cref="JsonException"/> escape.
/// (<c>NaN</c> and comments are syntax errors, as RFC 8259 has them.)
/// </summary>
public static class JsonFile
{
    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];

    /// <summary>Strict parsing: what RFC 8259 allows and nothing else (depth capped at 64). Repeated keys are found
    /// before parsing, with their position (<see cref="Check"/>).</summary>
    public static JsonDocumentOptions StrictOptions => new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = 64,
    };

    /// <summary>
    /// Checks that <paramref name="json"/> is one strict JSON value in which every string is text (valid UTF-8, no
    /// unpaired surrogate escape such as <c>"\ud800"</c>, which the parser accepts but no reader can turn into a
    /// string) and no object repeats a key — reported with line and byte, which System.Text.Json's own duplicate check
    /// does not give.
    /// </summary>
    /// <param name="path">The file, for messages.</param>
    /// <param name="json">Its bytes (no byte order mark).</param>
    /// <exception cref="JsonFileException">The first syntax error, invalid string or repeated key.</exception>
    public static void Check(string path, ReadOnlySpan<byte> json)
    {
        (string Detail, long Line, long Position)? problem;
        try
        {
            problem = Scan(json, allowDuplicateKeys: false);
        }
        catch (JsonException e)
        {
            throw Wrap(path, e);
        }

        if (problem is { } p)
        {
            throw new JsonFileException(path, p.Line, p.Position, p.Detail);
        }
    }

    /// <summary>
    /// One pass of a strict reader over <paramref name="json"/>: the first string that is not text, or (unless allowed)
    /// the first repeated key, with its 1-based line and byte; null when there is none.
    /// </summary>
    /// <param name="json">UTF-8 JSON.</param>
    /// <param name="allowDuplicateKeys">Skip the repeated-key check (for callers that report repeats by path themselves).</param>
    /// <returns>What is wrong and where, or null.</returns>
    /// <exception cref="JsonException">A syntax error.</exception>
    public static (string Detail, long Line, long Position)? Scan(ReadOnlySpan<byte> json, bool allowDuplicateKeys)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
        var scopes = new List<HashSet<string>?>();  // one per open object (its keys so far) or array (null)
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    scopes.Add(new HashSet<string>(StringComparer.Ordinal));
                    break;
                case JsonTokenType.StartArray:
                    scopes.Add(null);
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    scopes.RemoveAt(scopes.Count - 1);
                    break;
                case JsonTokenType.PropertyName or JsonTokenType.String:
                    string? text = TryGetString(ref reader);
                    if (text is null)
                    {
                        return At(json, reader.TokenStartIndex, $"a {(reader.TokenType == JsonTokenType.PropertyName ? "key" : "string")} is not valid text (invalid UTF-8 or an unpaired surrogate escape)");
                    }

                    if (reader.TokenType == JsonTokenType.PropertyName && !allowDuplicateKeys && !scopes[^1]!.Add(text))
                    {
                        return At(json, reader.TokenStartIndex, $"the key \"{text}\" appears twice in one object");
                    }

                    break;
            }
        }

        return null;
    }

    /// <summary>Reads and parses a file whose top-level value must be an object.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The document; dispose it.</returns>
    /// <exception cref="JsonFileException">The file is empty, not valid JSON, repeats a key, or is not an object.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static JsonDocument ParseObject(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ReadOnlyMemory<byte> bytes = Read(path);
        Check(path, bytes.Span);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, StrictOptions);
        }
        catch (JsonException e)
        {
            throw Wrap(path, e);
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            JsonValueKind kind = document.RootElement.ValueKind;
            document.Dispose();
            throw new JsonFileException(path, 1, null, $"the top-level value is {Describe(kind)}, not an object");
        }

        return document;
    }

    /// <summary>Reads and parses a file whose top-level value must be an object, as a mutable node tree.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The object.</returns>
    /// <exception cref="JsonFileException">The file is empty, not valid JSON, repeats a key, or is not an object.</exception>
    public static JsonObject ParseNode(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ReadOnlyMemory<byte> bytes = Read(path);
        Check(path, bytes.Span);
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(bytes.Span, documentOptions: StrictOptions);
        }
        catch (JsonException e)
        {
            throw Wrap(path, e);
        }

        return node as JsonObject
            ?? throw new JsonFileException(path, 1, null, $"the top-level value is {Describe(node?.GetValueKind() ?? JsonValueKind.Null)}, not an object");
    }

    /// <summary>Reads a file and deserialises it with <paramref name="options"/> (repeated keys refused).</summary>
    /// <typeparam name="T">The type.</typeparam>
    /// <param name="path">The file.</param>
    /// <param name="options">Serializer options (naming, converters).</param>
    /// <returns>The value; never null.</returns>
    /// <exception cref="JsonFileException">The file is empty, not valid JSON, repeats a key, is <c>null</c>, or does not fit <typeparamref name="T"/>.</exception>
    public static T Deserialize<T>(string path, JsonSerializerOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        ReadOnlyMemory<byte> bytes = Read(path);
        Check(path, bytes.Span);
        try
        {
            var strict = new JsonSerializerOptions(options)
            {
                ReadCommentHandling = JsonCommentHandling.Disallow,
                AllowTrailingCommas = false,
            };
            return JsonSerializer.Deserialize<T>(bytes.Span, strict)
                ?? throw new JsonFileException(path, 1, null, "the top-level value is null");
        }
        catch (JsonException e)
        {
            throw Wrap(path, e);
        }
        catch (NotSupportedException e)
        {
            // A value the serializer cannot bind (e.g. an object where a number belongs, deep inside).
            throw new JsonFileException(path, null, null, OneLine(e.Message), e);
        }
    }

    /// <summary>The typed error for a parser failure in <paramref name="path"/>: its message without the parser's position suffix, and the 1-based line and byte.</summary>
    /// <param name="path">The file.</param>
    /// <param name="e">The parser's exception.</param>
    /// <returns>The exception to throw.</returns>
    public static JsonFileException Wrap(string path, JsonException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        string detail = Clean(e.Message);
        if (!string.IsNullOrEmpty(e.Path) && e.Path != "$")
        {
            detail += $" (at {e.Path})";
        }

        return new JsonFileException(path, e.LineNumber + 1, e.BytePositionInLine + 1, detail, e);
    }

    /// <summary>A parser message without the "Path: … | LineNumber: … | BytePositionInLine: …" suffix and the advice to change reader options.</summary>
    /// <param name="message">System.Text.Json's message.</param>
    /// <returns>The reason alone, on one line.</returns>
    public static string Clean(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        string text = message;
        foreach (string marker in (string[])[" Path: ", " LineNumber: "])
        {
            int at = text.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                text = text[..at];
            }
        }

        text = text.Replace(" Change the reader options.", string.Empty, StringComparison.Ordinal)
                   .Replace(" in this mode", string.Empty, StringComparison.Ordinal);
        return OneLine(text).Trim();
    }

    // What is wrong at a byte offset, with its 1-based line and byte.
    private static (string Detail, long Line, long Position) At(ReadOnlySpan<byte> json, long offset, string detail)
    {
        ReadOnlySpan<byte> before = json[..(int)offset];
        int lastNewline = before.LastIndexOf((byte)'\n');
        return (detail, before.Count((byte)'\n') + 1, offset - lastNewline);
    }

    private static string? TryGetString(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static ReadOnlyMemory<byte> Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        ReadOnlyMemory<byte> content = bytes.AsSpan().StartsWith(Utf8Bom) ? bytes.AsMemory(Utf8Bom.Length) : bytes;
        if (content.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            throw new JsonFileException(path, null, null, "the file is empty");
        }

        return content;
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };
}
