using System.Runtime.CompilerServices;

// Every import is blittable or marshalled by the LibraryImport source generator (SafeHandles);
// nothing is left to the runtime's marshaller.
[assembly: DisableRuntimeMarshalling]

// The bindings (NativeMethods, the SafeHandles, NativeCall) are internal: users of MoR never see
// an IntPtr or a SafeHandle. The assemblies that pass tensors to native ops see them here.
[assembly: InternalsVisibleTo("MoR")]
[assembly: InternalsVisibleTo("MoR.Tests")]
[assembly: InternalsVisibleTo("MoR.Benchmarks")]
[assembly: InternalsVisibleTo("MoR.Bench")]
[assembly: InternalsVisibleTo("MoR.DistributedTests")]
