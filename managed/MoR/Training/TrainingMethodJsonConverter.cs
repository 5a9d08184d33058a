using System.Text.Json;
using System.Text.Json.Serialization;

namespace MoR.Training;

/// <summary>Writes <see cref="TrainingMethod"/> with its command-line spelling (<c>moe-lora</c>, not <c>MoELoRA</c>).</summary>
public sealed class TrainingMethodJsonConverter : JsonConverter<TrainingMethod>
{
    /// <inheritdoc/>
    public override TrainingMethod Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        try
        {
            return TrainingMethodNames.Parse(reader.GetString() ?? string.Empty);
        }
        catch (ArgumentException e)
        {
            throw new JsonException(e.Message, e);
        }
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, TrainingMethod value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToName());
    }
}
