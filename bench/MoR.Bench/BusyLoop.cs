using System.Diagnostics;

namespace MoR.Bench;

/// <summary>
/// One single-threaded CPU-bound process (a shell busy loop), running while a cell is measured "under load": the
/// other work a user's machine has. Disposing kills it.
/// </summary>
internal sealed class BusyLoop : IDisposable
{
    private readonly Process _process;

    private BusyLoop(Process process) => _process = process;

    /// <summary>Starts the loop when <paramref name="busy"/>; null otherwise.</summary>
    public static BusyLoop? StartIf(bool busy)
    {
        if (!busy)
        {
            return null;
        }

        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("while :; do :; done");
        return new BusyLoop(Process.Start(start) ?? throw new InvalidOperationException("/bin/sh did not start"));
    }

    public void Dispose()
    {
        _process.Kill();
        _process.WaitForExit();
        _process.Dispose();
    }
}
