namespace MoR.Tasks;

/// <summary>One generated problem: the prompt the model sees and the exact answer it must produce.</summary>
/// <param name="Task">The generating task's <see cref="ISyntheticTask.Name"/>.</param>
/// <param name="Prompt">Instruction prefix and input, ending with a newline.</param>
/// <param name="Answer">The expected completion (no trailing newline; EOS follows it in training).</param>
public sealed record TaskSample(string Task, string Prompt, string Answer);
