using System.Runtime.InteropServices;

namespace MoR.Interop;

internal static partial class NativeMethods
{
    // ---- adapters (MOR.md); shapes and accumulation rules are documented in mor.h ----
    // Optional outputs (dx) take BufferHandle.Null.

    [LibraryImport(LibraryName)]
    public static partial int mor_lora_forward(
        ContextHandle context, StreamHandle stream, long t, long dIn, long dOut, long r, float scale,
        BufferHandle x, BufferHandle a, BufferHandle b, BufferHandle h, BufferHandle y);

    [LibraryImport(LibraryName)]
    public static partial int mor_lora_backward(
        ContextHandle context, StreamHandle stream, long t, long dIn, long dOut, long r, float scale,
        BufferHandle x, BufferHandle a, BufferHandle b, BufferHandle h, BufferHandle dy,
        BufferHandle da, BufferHandle db, BufferHandle dx);

    [LibraryImport(LibraryName)]
    public static partial int mor_build_q(
        ContextHandle context, StreamHandle stream, long dOut, long r, long n,
        BufferHandle b, BufferHandle omegaB, BufferHandle q);

    [LibraryImport(LibraryName)]
    public static partial int mor_forward(
        ContextHandle context, StreamHandle stream, long t, long dIn, long dOut, long r, long n, float scale,
        BufferHandle x, BufferHandle ag, BufferHandle omegaA, BufferHandle q, BufferHandle hz, BufferHandle g,
        BufferHandle y);

    [LibraryImport(LibraryName)]
    public static partial int mor_backward(
        ContextHandle context, StreamHandle stream, long t, long dIn, long dOut, long r, long n, float scale,
        BufferHandle x, BufferHandle ag, BufferHandle omegaA, BufferHandle b, BufferHandle omegaB, BufferHandle q,
        BufferHandle hz, BufferHandle g, BufferHandle dy,
        BufferHandle dag, BufferHandle domegaA, BufferHandle db, BufferHandle domegaB, BufferHandle dx);

    [LibraryImport(LibraryName)]
    public static partial int mor_moe_lora_forward(
        ContextHandle context, StreamHandle stream, long t, long dIn, long dOut, long r, long n, float scale,
        BufferHandle x, BufferHandle ag, BufferHandle b, BufferHandle hz, BufferHandle g, BufferHandle y);

    [LibraryImport(LibraryName)]
    public static partial int mor_moe_lora_backward(
        ContextHandle context, StreamHandle stream, long t, long dIn, long dOut, long r, long n, float scale,
        BufferHandle x, BufferHandle ag, BufferHandle b, BufferHandle hz, BufferHandle g, BufferHandle dy,
        BufferHandle dag, BufferHandle db, BufferHandle dx);

    [LibraryImport(LibraryName)]
    public static partial int mor_row_norm2(
        ContextHandle context, StreamHandle stream, long rows, long cols, BufferHandle w, BufferHandle output);

    [LibraryImport(LibraryName)]
    public static partial int mor_dora_forward(
        ContextHandle context, StreamHandle stream, long t, long dIn, long dOut, long r, float scale,
        BufferHandle x, BufferHandle w, BufferHandle wNorm2, BufferHandle a, BufferHandle b, BufferHandle m,
        BufferHandle h, BufferHandle norm, BufferHandle @base, BufferHandle y);

    [LibraryImport(LibraryName)]
    public static partial int mor_dora_backward(
        ContextHandle context, StreamHandle stream, long t, long dIn, long dOut, long r, float scale,
        BufferHandle x, BufferHandle w, BufferHandle a, BufferHandle b, BufferHandle m, BufferHandle h,
        BufferHandle norm, BufferHandle u, BufferHandle dy,
        BufferHandle dm, BufferHandle da, BufferHandle db, BufferHandle dx);
}
