using MoR.Training;

namespace MoR.Cli;

/// <summary>Everything <c>mor finetune</c> was asked to do.</summary>
internal sealed record FinetuneSettings
{
    public required string ModelDirectory { get; init; }

    public required string DataPath { get; init; }

    public string? EvalDataPath { get; init; }

    public double ValidationSplit { get; init; } = 0.05;

    public required string OutputDirectory { get; init; }

    public required TrainingOptions Training { get; init; }

    public string Device { get; init; } = "cpu";

    public bool Resume { get; init; }

    public bool Json { get; init; }

    public bool Recompute { get; init; }

    public bool Bf16Base { get; init; }

    /// <summary>--memory-limit: replaces the free memory the device reports as the limit the run's estimate must fit.</summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>--chat-format: a built-in format for "messages" records; null uses the model's chat_template.</summary>
    public string? ChatFormat { get; init; }
}
