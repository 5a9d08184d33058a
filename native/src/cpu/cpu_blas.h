// The CPU GEMM provider, found at run time: OpenBLAS (or any CBLAS) is opened with dlopen on first
// use instead of being linked. Two reasons:
//  - OpenBLAS picks its kernels from CPUID when it loads, and on virtualised CPUs it often falls back
//    to a generic SSE3 core ("Prescott": ~6x slower here). Loading it ourselves lets us set
//    OPENBLAS_CORETYPE from the features we detect first, whichever host language loaded libmor.
//  - The library then loads on machines without any BLAS and uses its built-in GEMM.
#pragma once

#include <string>

namespace mor::cpu {

// CBLAS enum values (the reference CBLAS ABI), so no cblas.h is needed at build time.
enum : int { kCblasRowMajor = 101, kCblasNoTrans = 111, kCblasTrans = 112 };

using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
// cblas_sbgemm: BF16 inputs (as uint16 bits), F32 accumulate and output. OpenBLAS >= 0.3.10.
using SbgemmFn = void (*)(int, int, int, int, int, int, float, const unsigned short*, int, const unsigned short*, int,
                          float, float*, int);

struct CpuBlas {
  SgemmFn sgemm = nullptr;    // null: use the built-in GEMM
  SbgemmFn sbgemm = nullptr;  // null: BF16 operands are widened to F32 first
  std::string description;    // e.g. "openblas 0.3.21 (libopenblas.so.0, core Cooperlake)" or "builtin"
};

// Loaded once, thread-safe. MOR_BLAS_LIBRARY=<path> picks the library; MOR_BLAS_LIBRARY=builtin
// disables loading.
const CpuBlas& cpu_blas();

}  // namespace mor::cpu
