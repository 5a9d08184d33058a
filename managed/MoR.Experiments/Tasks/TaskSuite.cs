using System.Text;
using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>
/// The synthetic multi-task suite: nine deterministic generators (arithmetic, copy, reversal, digit
/// sorting, key–value lookup, character counting, upper-casing, Caesar shift, a reasoning chain).
/// Prompts are <c>"&lt;task&gt;: &lt;input&gt;\n"</c>, so the instruction word tells the model which task it is.
/// </summary>
/// <remarks>
/// Splits are disjoint by construction: a problem belongs to the split picked by a stable hash of its
/// prompt (80/10/10), and <see cref="Generate"/> draws until it has enough problems of the requested
/// split. The same (task, split, count, seed) therefore always gives the same samples, on every machine.
/// </remarks>
public static class TaskSuite
{
    /// <summary>Every task, in a fixed order.</summary>
    public static IReadOnlyList<ISyntheticTask> All { get; } =
    [
        new ArithmeticTask(), new CopyTask(), new ReverseTask(), new SortDigitsTask(), new KeyValueLookupTask(),
        new CountCharacterTask(), new UppercaseTask(), new CaesarShiftTask(), new ReasoningChainTask(),
    ];

    /// <summary>The task called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No task has that name; the message lists them.</exception>
    public static ISyntheticTask Get(string name) =>
        All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown task '{name}'; tasks: {string.Join(", ", All.Select(t => t.Name))}.", nameof(name));

    /// <summary>The prompt for an input of <paramref name="task"/>.</summary>
    public static string PromptFor(ISyntheticTask task, string input)
    {
        ArgumentNullException.ThrowIfNull(task);
        return $"{task.Name}: {input}\n";
    }

    /// <summary>The split a prompt belongs to (stable 64-bit FNV-1a hash of its UTF-8 bytes).</summary>
    public static TaskSplit SplitOf(string prompt)
    {
        ulong hash = 0xCBF29CE484222325UL;
        foreach (byte b in Encoding.UTF8.GetBytes(prompt))
        {
            hash = (hash ^ b) * 0x100000001B3UL;
        }

        return (hash % 10) switch
        {
            0 => TaskSplit.Test,
            1 => TaskSplit.Validation,
            _ => TaskSplit.Train,
        };
    }

    /// <summary><paramref name="count"/> samples of <paramref name="task"/> from <paramref name="split"/>.</summary>
    /// <param name="task">The task.</param>
    /// <param name="split">Which part of the problem space.</param>
    /// <param name="count">How many samples.</param>
    /// <param name="seed">Fixes the samples.</param>
    /// <param name="distinct">Reject repeated prompts (the test split of a small problem space may then run out: draws are capped).</param>
    public static List<TaskSample> Generate(ISyntheticTask task, TaskSplit split, int count, ulong seed, bool distinct = false)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var rng = new SeededRandom(seed ^ NameHash(task.Name) ^ ((ulong)split * 0xA24BAED4963EE407UL));
        var samples = new List<TaskSample>(count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long draws = 0, maxDraws = 1000L * (count + 10);
        while (samples.Count < count && draws++ < maxDraws)
        {
            (string input, string answer) = task.Generate(rng);
            string prompt = PromptFor(task, input);
            if (SplitOf(prompt) != split || (distinct && !seen.Add(prompt)))
            {
                continue;
            }

            samples.Add(new TaskSample(task.Name, prompt, answer));
        }

        return samples;
    }

    /// <summary>A shuffled mixture of <paramref name="perTask"/> samples of each of <paramref name="tasks"/>.</summary>
    public static List<TaskSample> Mixture(IEnumerable<ISyntheticTask> tasks, TaskSplit split, int perTask, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        List<TaskSample> all = [.. tasks.SelectMany(t => Generate(t, split, perTask, seed))];
        var rng = new SeededRandom(seed ^ 0x77AA55CCUL);
        for (int i = all.Count - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (all[i], all[j]) = (all[j], all[i]);
        }

        return all;
    }

    private static ulong NameHash(string name)
    {
        ulong hash = 0xCBF29CE484222325UL;
        foreach (char c in name)
        {
            hash = (hash ^ c) * 0x100000001B3UL;
        }

        return hash;
    }
}
