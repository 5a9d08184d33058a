using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>
/// A generator of one kind of short, exactly scored problem. Part of the synthetic multi-task suite that
/// stands in for the paper's multi-task mixture (tiny models, byte tokenizer).
/// </summary>
public interface ISyntheticTask
{
    /// <summary>A short, unique name (also the instruction word that starts every prompt).</summary>
    string Name { get; }

    /// <summary>One line saying what the task asks, for listings.</summary>
    string Description { get; }

    /// <summary>Draws one problem: the input text and its answer. The prompt prefix is added by <see cref="TaskSuite"/>.</summary>
    (string Input, string Answer) Generate(SeededRandom rng);
}
