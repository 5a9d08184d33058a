namespace MoR.IO;

/// <summary>One tensor entry of a safetensors header, validated.</summary>
/// <param name="Name">The tensor's name (any UTF-8 string).</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions, outermost first; empty for a scalar.</param>
/// <param name="Begin">Offset of the first byte, relative to the start of the data section.</param>
/// <param name="End">Offset one past the last byte, relative to the start of the data section.</param>
public sealed record TensorInfo(string Name, SafeTensorDType DType, IReadOnlyList<long> Shape, long Begin, long End)
{
    /// <summary>Number of elements (1 for a scalar, 0 when any dimension is 0).</summary>
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (long d in Shape)
            {
                count = checked(count * d);
            }

            return count;
        }
    }

    /// <summary>The header's <c>data_offsets</c> pair.</summary>
    public (long Begin, long End) DataOffsets => (Begin, End);

    /// <summary>Length of the tensor's data in bytes (<see cref="End"/> − <see cref="Begin"/>).</summary>
    public long ByteLength => End - Begin;

    /// <summary>The shape written as <c>[a, b, c]</c>, for messages.</summary>
    /// <returns>The formatted shape.</returns>
    public string FormatShape() => FormatShape(Shape);

    /// <summary>A shape written as <c>[a, b, c]</c>, for messages.</summary>
    /// <param name="shape">Any shape.</param>
    /// <returns>The formatted shape.</returns>
    public static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
