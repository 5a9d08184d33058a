namespace MoR.Interop;

/// <summary><c>mor_backend</c>: which backend a context runs on.</summary>
internal enum MorBackend
{
    Cpu = 0,
    Cuda = 1,
}
