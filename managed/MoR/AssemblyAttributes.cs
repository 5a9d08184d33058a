using System.Runtime.CompilerServices;

// Tests, benchmarks and experiments reach Tensor.Handle, Device.Context and the op layer to call native ops directly.
[assembly: InternalsVisibleTo("MoR.Tests")]
[assembly: InternalsVisibleTo("MoR.Benchmarks")]
[assembly: InternalsVisibleTo("MoR.Experiments")]
[assembly: InternalsVisibleTo("MoR.Bench")]
[assembly: InternalsVisibleTo("MoR.DistributedTests")]
