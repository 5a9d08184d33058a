namespace MoR.Cli;

/// <summary>The exit codes of <c>mor</c> (DESIGN.md §5).</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The command ran and failed (bad data, native error, non-finite loss, out of memory).</summary>
    public const int RuntimeError = 1;

    /// <summary>The command line is wrong.</summary>
    public const int UsageError = 2;

    /// <summary>A bug: an exception no input should cause (sysexits' EX_SOFTWARE). One line on stderr; <c>MOR_DEBUG=1</c> adds the stack trace.</summary>
    public const int InternalError = 70;
}
