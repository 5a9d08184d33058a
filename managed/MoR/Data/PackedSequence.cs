namespace MoR.Data;

/// <summary>One fixed-length training row: inputs and the already shifted targets (<see cref="TokenizedExample.IgnoreIndex"/> = no loss).</summary>
/// <param name="InputIds">L input ids.</param>
/// <param name="Targets">L targets: Targets[t] is the label of the token after InputIds[t].</param>
public sealed record PackedSequence(int[] InputIds, int[] Targets)
{
    /// <summary>The number of targets that take a loss.</summary>
    public int TargetCount => Targets.Count(t => t != TokenizedExample.IgnoreIndex);
}
