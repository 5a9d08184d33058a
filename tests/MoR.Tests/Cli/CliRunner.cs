using MoR.Cli;

namespace MoR.Tests.Cli;

/// <summary>Runs <c>mor</c> in-process with captured stdout and stderr (stderr treated as redirected: plain progress).</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args) => RunWithInput(string.Empty, args);

    /// <summary>Runs with <paramref name="stdin"/> as standard input.</summary>
    public static (int Code, string Out, string Err) RunWithInput(string stdin, params string[] args) => RunWith(stdin, trainerCreated: null, args);

    /// <summary>Runs with <paramref name="trainerCreated"/> called on the trainer of this run (mor finetune's test seam).</summary>
    public static (int Code, string Out, string Err) RunWithTrainer(Action<MoR.Training.Trainer> trainerCreated, params string[] args) =>
        RunWith(string.Empty, trainerCreated, args);

    private static (int Code, string Out, string Err) RunWith(string stdin, Action<MoR.Training.Trainer>? trainerCreated, string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = MorApp.Run(args, new CliConsole(stdout, stderr, StderrIsTerminal: false) { In = new StringReader(stdin), TrainerCreated = trainerCreated });
        return (code, stdout.ToString(), stderr.ToString());
    }
}
