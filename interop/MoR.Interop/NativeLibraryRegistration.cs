using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace MoR.Interop;

/// <summary>Registers <see cref="NativeLibraryResolver"/> before any code in this assembly runs.</summary>
internal static class NativeLibraryRegistration
{
    // A library normally must not use a module initializer (CA2255); here it is the only point that is
    // guaranteed to run before the first import in this assembly is bound, whoever calls it.
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries", Justification = "Resolver must be installed before the first P/Invoke is bound.")]
    internal static void Register() => NativeLibraryResolver.Register();
}
