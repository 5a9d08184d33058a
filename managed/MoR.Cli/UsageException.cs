namespace MoR.Cli;

/// <summary>A command line that parses but makes no sense (an unknown device, a bad value): exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
