using System.CommandLine;
using MoR.Data;
using MoR.Interop;
using MoR.Training;

namespace MoR.Cli;

/// <summary>
/// Builds the <c>mor</c> command tree and runs it with the exit-code contract: 0 ok, 1 runtime error,
/// 2 usage error, 70 internal error (a bug), each failure with a one-line message on stderr.
/// </summary>
public static class MorApp
{
    /// <summary>Parses and runs <paramref name="args"/>; never throws.</summary>
    public static int Run(string[] args, CliConsole console)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        Option<int?> threads = CommonOptions.Threads();
        RootCommand root = Build(console);
        root.Add(threads);
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            return Usage(console, parsed.Errors[0].Message);
        }

        try
        {
            if (parsed.GetValue(threads) is int count)
            {
                CommonOptions.SetThreads(count);
            }

            return parsed.Invoke(new InvocationConfiguration
            {
                Output = console.Out,
                Error = console.Error,
                EnableDefaultExceptionHandler = false,
            });
        }
        catch (UsageException e)
        {
            return Usage(console, e.Message);
        }
        catch (TrainingOutOfMemoryException e)
        {
            console.Error.WriteLine($"mor: out of memory: {e.NativeMessage}");
            console.Error.WriteLine($"mor: sizes: {e.Sizes}");
            console.Error.WriteLine(OutOfMemoryHint);
            return ExitCodes.RuntimeError;
        }
        catch (NativeOutOfMemoryException e)
        {
            console.Error.WriteLine($"mor: out of memory: {e.NativeMessage}");
            console.Error.WriteLine(OutOfMemoryHint);
            return ExitCodes.RuntimeError;
        }
        catch (Exception e) when (e is NonFiniteException or TrainingMemoryException or DataFormatException or FormatException or MoRNativeException or IOException
                                       or InvalidDataException or UnauthorizedAccessException or ArgumentException
                                       or InvalidOperationException or NotSupportedException or OperationCanceledException)
        {
            // One line, always (some framework messages carry a second line, e.g. "Actual value was …").
            console.Error.WriteLine($"mor: error: {e.Message.ReplaceLineEndings(" ")}");
            return ExitCodes.RuntimeError;
        }
        catch (Exception e)
        {
            // Nothing a user types should get here; if something does, it still ends in one line, not an abort.
            console.Error.WriteLine($"mor: internal error (please report it): {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
            if (Environment.GetEnvironmentVariable("MOR_DEBUG") == "1")
            {
                console.Error.WriteLine(e.ToString());
            }

            return ExitCodes.InternalError;
        }
    }

    private const string OutOfMemoryHint =
        "mor: hint: use a smaller --micro-batch (with more --grad-accum to keep the batch), a shorter --seq-len, a smaller --rank, --bf16-base, or --recompute to recompute activations in backward.";

    private static int Usage(CliConsole console, string message)
    {
        // One line, always: multi-line parser messages are joined so scripts can grep the first line.
        console.Error.WriteLine($"mor: usage error: {message.ReplaceLineEndings(" ")} (see 'mor --help')");
        return ExitCodes.UsageError;
    }

    private static RootCommand Build(CliConsole console)
    {
        var root = new RootCommand("MoRNative: fine-tune LLaMA-family models with Mixture-of-Ranks adapters (CPU or CUDA).");
        root.Add(SelftestCommand.Create(console));
        root.Add(InspectCommand.Create(console));
        root.Add(FinetuneCommand.Create(console));
        root.Add(MergeCommand.Create(console));
        root.Add(EvalCommand.Create(console));
        root.Add(GenerateCommand.Create(console));
        root.Add(ChatCommand.Create(console));
        root.Add(BenchCommand.Create(console));
        root.Add(ExperimentCommand.Create(console));
        return root;
    }
}
