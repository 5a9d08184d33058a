namespace MoR.Bench;

/// <summary>A peer command line that cannot run as given (exit code 2).</summary>
internal sealed class PeerUsageException(string message) : Exception(message);
