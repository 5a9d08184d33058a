namespace MoR;

/// <summary>Formats shapes for messages: <c>[2, 3]</c>.</summary>
internal static class ShapeText
{
    public static string Format(ReadOnlySpan<long> shape) => $"[{string.Join(", ", shape.ToArray())}]";
}
