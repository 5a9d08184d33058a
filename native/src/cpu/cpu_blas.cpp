#include "cpu/cpu_blas.h"

#include <cstdlib>
#include <mutex>
#include <vector>

#include "platform/platform.h"

namespace mor::cpu {

namespace {

std::vector<std::string> candidate_libraries() {
#if defined(_WIN32)
  return {"libopenblas.dll", "openblas.dll"};
#elif defined(__APPLE__)
  return {"libopenblas.dylib", "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
          "/usr/local/opt/openblas/lib/libopenblas.dylib",
          "/System/Library/Frameworks/Accelerate.framework/Accelerate"};
#else
  // Debian/Ubuntu install OpenBLAS as libopenblas.so.0; libblas.so.3 (any alternative) exports CBLAS too.
  return {"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0", "libcblas.so.3", "libblas.so.3"};
#endif
}

// The OpenBLAS kernel family for the features this CPU reports. OpenBLAS's own detection falls back to a
// generic core on many virtual CPUs, and environments work around that with a fixed OPENBLAS_CORETYPE (one of
// this project's test machines exports Haswell on an AVX-512 CPU: half the GEMM speed). The library's BLAS is
// private to it, so it chooses from CPUID itself; MOR_BLAS_CORETYPE names a family explicitly.
void choose_openblas_core() {
  const std::string forced = platform::getenv_string("MOR_BLAS_CORETYPE");
  const char* core = forced.empty() ? nullptr : forced.c_str();
  if (core == nullptr) {
    if (platform::cpu_has_avx512_bf16())
      core = "Cooperlake";
    else if (platform::cpu_has_avx512f())
      core = "SkylakeX";
    else if (platform::cpu_has_avx2())
      core = "Haswell";
  }
  if (core != nullptr) platform::setenv_string("OPENBLAS_CORETYPE", core);
}

// BLAS runs single-threaded: the CPU backend cuts large products into tiles and runs them on its own thread
// pool (thread_pool.h), so an OpenBLAS thread pool would only compete with it for the same cores. The variable
// must be set before the library initialises (a pthread OpenBLAS starts its threads when it loads); the call
// after loading covers a library that was already in the process.
void make_single_threaded(void* lib) {
  using SetThreadsFn = void (*)(int);
  if (auto set = reinterpret_cast<SetThreadsFn>(platform::library_symbol(lib, "openblas_set_num_threads"))) set(1);
}

CpuBlas load() {
  CpuBlas blas;
  blas.description = "builtin";
#if defined(MOR_BLAS_BUILTIN_ONLY)
  return blas;
#else
  const std::string forced = platform::getenv_string("MOR_BLAS_LIBRARY");
  if (forced == "builtin") return blas;
  choose_openblas_core();
  platform::setenv_string("OPENBLAS_NUM_THREADS", "1");
  std::vector<std::string> names = forced.empty() ? candidate_libraries() : std::vector<std::string>{forced};
  for (const auto& name : names) {
    void* lib = platform::open_library(name.c_str());
    if (lib == nullptr) continue;
    auto sgemm = reinterpret_cast<SgemmFn>(platform::library_symbol(lib, "cblas_sgemm"));
    if (sgemm == nullptr) continue;  // a Fortran-only BLAS: keep looking (never unloaded; harmless)
    make_single_threaded(lib);
    blas.sgemm = sgemm;
    blas.sbgemm = reinterpret_cast<SbgemmFn>(platform::library_symbol(lib, "cblas_sbgemm"));
    using ConfigFn = const char* (*)();
    auto config = reinterpret_cast<ConfigFn>(platform::library_symbol(lib, "openblas_get_config"));
    auto corename = reinterpret_cast<ConfigFn>(platform::library_symbol(lib, "openblas_get_corename"));
    blas.description = name;
    if (config != nullptr) blas.description += std::string(" [") + config() + "]";
    if (corename != nullptr) blas.description += std::string(" core ") + corename();
    return blas;
  }
  return blas;
#endif
}

}  // namespace

const CpuBlas& cpu_blas() {
  static std::once_flag once;
  static CpuBlas blas;
  std::call_once(once, [] { blas = load(); });
  return blas;
}

}  // namespace mor::cpu
