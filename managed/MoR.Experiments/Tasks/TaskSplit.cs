namespace MoR.Tasks;

/// <summary>Which disjoint part of a task's problem space a sample is drawn from.</summary>
public enum TaskSplit
{
    /// <summary>About 80 % of the problem space.</summary>
    Train,

    /// <summary>About 10 %.</summary>
    Validation,

    /// <summary>About 10 %.</summary>
    Test,
}
