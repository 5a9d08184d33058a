using System.Runtime.CompilerServices;

// Tests and benchmarks reach Tensor.Handle and Device.Context to call native ops directly.
[assembly: InternalsVisibleTo("MoR.Tests")]
[assembly: InternalsVisibleTo("MoR.Bench")]
[assembly: InternalsVisibleTo("MoR.DistributedTests")]
