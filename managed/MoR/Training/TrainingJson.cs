using System.Text.Json;
using System.Text.Json.Serialization;
using MoR.Adapters;

namespace MoR.Training;

/// <summary>The JSON settings for training files (snake_case names, enums as lower-case strings, indented).</summary>
public static class TrainingJson
{
    /// <summary>Options for training_config.json and trainer_state.json.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters =
        {
            new TrainingOptionsJsonConverter(), new AdapterConfigJsonConverter(), new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower),
        },
    };

    /// <summary>Compact options for one-object-per-line logs (metrics.jsonl, --json progress).</summary>
    public static JsonSerializerOptions Lines { get; } = new(Options) { WriteIndented = false };
}
