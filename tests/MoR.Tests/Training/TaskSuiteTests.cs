using MoR.Numerics;
using MoR.Tasks;

namespace MoR.Tests.Training;

/// <summary>The synthetic suite: deterministic, disjoint splits, correct answers, exact-match scoring.</summary>
public sealed class TaskSuiteTests
{
    [Fact]
    public void Has_at_least_eight_uniquely_named_tasks()
    {
        Assert.True(TaskSuite.All.Count >= 8);
        Assert.Equal(TaskSuite.All.Count, TaskSuite.All.Select(t => t.Name).Distinct().Count());
    }

    [Fact]
    public void Generation_is_deterministic_by_seed()
    {
        foreach (ISyntheticTask task in TaskSuite.All)
        {
            Assert.Equal(TaskSuite.Generate(task, TaskSplit.Train, 20, seed: 5), TaskSuite.Generate(task, TaskSplit.Train, 20, seed: 5));
            Assert.NotEqual(TaskSuite.Generate(task, TaskSplit.Train, 20, seed: 5), TaskSuite.Generate(task, TaskSplit.Train, 20, seed: 6));
        }
    }

    [Fact]
    public void Splits_are_disjoint_and_prompts_carry_the_instruction()
    {
        foreach (ISyntheticTask task in TaskSuite.All)
        {
            var train = TaskSuite.Generate(task, TaskSplit.Train, 300, seed: 1).Select(s => s.Prompt).ToHashSet();
            var test = TaskSuite.Generate(task, TaskSplit.Test, 30, seed: 1);
            Assert.Equal(30, test.Count);
            Assert.All(test, s => Assert.DoesNotContain(s.Prompt, train));
            Assert.All(test, s => Assert.StartsWith(task.Name + ": ", s.Prompt, StringComparison.Ordinal));
            Assert.All(test, s => Assert.EndsWith("\n", s.Prompt, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("arith")]
    [InlineData("copy")]
    [InlineData("reverse")]
    [InlineData("sort")]
    [InlineData("lookup")]
    [InlineData("count")]
    [InlineData("upper")]
    [InlineData("caesar")]
    [InlineData("chain")]
    public void Answers_are_correct(string name)
    {
        ISyntheticTask task = TaskSuite.Get(name);
        var rng = new SeededRandom(3);
        for (int i = 0; i < 200; i++)
        {
            (string input, string answer) = task.Generate(rng);
            Assert.Equal(Solve(name, input), answer);
        }
    }

    [Fact]
    public void Exact_match_cuts_at_the_newline_and_trims()
    {
        var s = new TaskSample("arith", "arith: 1+2\n", "3");
        Assert.True(ExactMatch.IsCorrect(s, "3"));
        Assert.True(ExactMatch.IsCorrect(s, " 3 \nmore text"));
        Assert.False(ExactMatch.IsCorrect(s, "33"));
        Assert.False(ExactMatch.IsCorrect(s, ""));
        Assert.Equal(0.5, ExactMatch.Accuracy([s, s], ["3", "4"]));
    }

    [Fact]
    public void Unknown_task_lists_the_known_ones()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => TaskSuite.Get("nope"));
        Assert.Contains("arith", e.Message, StringComparison.Ordinal);
    }

    // Independent solvers: parse the input text and compute the answer another way.
    private static string Solve(string task, string input)
    {
        switch (task)
        {
            case "arith":
                int op = input.IndexOfAny(['+', '-']);
                int a = int.Parse(input[..op]), b = int.Parse(input[(op + 1)..]);
                return (input[op] == '+' ? a + b : a - b).ToString();
            case "copy":
                return input;
            case "reverse":
                return new string(input.Reverse().ToArray());
            case "sort":
                return string.Concat(input.OrderBy(c => c));
            case "lookup":
                string[] parts = input.Split(" ? ");
                return parts[0].Split(' ').Select(p => p.Split('=')).First(kv => kv[0] == parts[1])[1];
            case "count":
                string[] w = input.Split(" in ");
                return w[1].Count(c => c == w[0][0]).ToString();
            case "upper":
                return input.ToUpperInvariant();
            case "caesar":
                return string.Concat(input.Select(c => c == 'z' ? 'a' : (char)(c + 1)));
            default:
                var values = new Dictionary<string, int>();
                foreach (string stmt in input.Split("; "))
                {
                    if (stmt.EndsWith('?'))
                    {
                        return values[stmt.TrimEnd('?')].ToString();
                    }

                    string[] lhsRhs = stmt.Split('=');
                    string[] terms = lhsRhs[1].Split('+');
                    values[lhsRhs[0]] = terms.Length == 1 ? int.Parse(terms[0]) : values[terms[0]] + int.Parse(terms[1]);
                }

                throw new InvalidOperationException("no question");
        }
    }

    [Fact]
    public void Difficulty_options_bound_the_problems_and_keep_the_answers_right()
    {
        var rng = new SeededRandom(3);
        for (int i = 0; i < 200; i++)
        {
            (string copyIn, string copyOut) = new CopyTask(2, 4).Generate(rng);
            Assert.InRange(copyIn.Length, 2, 4);
            Assert.Equal(copyIn, copyOut);
            (string upperIn, string upperOut) = new UppercaseTask(2, 4).Generate(rng);
            Assert.InRange(upperIn.Length, 2, 4);
            Assert.Equal(upperIn.ToUpperInvariant(), upperOut);
            Assert.InRange(new CaesarShiftTask(2, 4).Generate(rng).Input.Length, 2, 4);
            Assert.InRange(new ReverseTask(2, 4).Generate(rng).Input.Length, 2, 4);
            Assert.InRange(new SortDigitsTask(2, 4).Generate(rng).Input.Length, 2, 4);
            Assert.InRange(new CountCharacterTask(3, 5).Generate(rng).Input.Length, 8, 10);
            Assert.InRange(int.Parse(new ArithmeticTask(10).Generate(rng).Answer, System.Globalization.CultureInfo.InvariantCulture), 0, 18);
            Assert.Equal(1, new ReasoningChainTask(2, 2).Generate(rng).Input.Count(c => c == '+'));
            Assert.Equal(2, new KeyValueLookupTask(2, 2).Generate(rng).Input.Count(c => c == '='));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => new CopyTask(5, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ArithmeticTask(1));
    }
}
