// MOR_CPU_CLONES compiles a function for AVX-512, AVX2 and baseline x86-64 and picks one at load time (GCC
// function multi-versioning, ELF ifunc): the library stays portable while its streaming loops get full-width
// vectors where the CPU has them. Elsewhere (MSVC, MinGW, clang, other architectures) it expands to nothing.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(_WIN32)
#define MOR_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MOR_CPU_CLONES
#endif
