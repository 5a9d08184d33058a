#include "platform/platform.h"

#include <cstdlib>

#if defined(_WIN32)
#include <malloc.h>
#include <windows.h>
#else
#include <dlfcn.h>
#endif
#if defined(__linux__)
#include <sched.h>

#include <fstream>
#endif
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(_MSC_VER)
#include <cpuid.h>
#elif defined(_MSC_VER)
#include <intrin.h>
#endif

namespace mor::platform {

void* aligned_alloc(size_t bytes, size_t alignment) {
#if defined(_WIN32)
  return _aligned_malloc(bytes, alignment);
#else
  void* p = nullptr;
  return posix_memalign(&p, alignment, bytes) == 0 ? p : nullptr;
#endif
}

void aligned_free(void* p) noexcept {
#if defined(_WIN32)
  _aligned_free(p);
#else
  std::free(p);
#endif
}

namespace {
// CPUID leaf 7: sub-leaf 0 EBX bit 16 = AVX-512F, sub-leaf 1 EAX bit 5 = AVX-512 BF16.
bool cpuid7(unsigned subleaf, unsigned reg_index, unsigned bit) {
#if (defined(__x86_64__) || defined(_M_X64))
  unsigned regs[4] = {0, 0, 0, 0};
#if defined(_MSC_VER)
  int r[4];
  __cpuidex(r, 7, static_cast<int>(subleaf));
  for (int i = 0; i < 4; ++i) regs[i] = static_cast<unsigned>(r[i]);
#else
  if (!__get_cpuid_count(7, subleaf, &regs[0], &regs[1], &regs[2], &regs[3])) return false;
#endif
  return (regs[reg_index] >> bit) & 1u;
#else
  (void)subleaf, (void)reg_index, (void)bit;
  return false;
#endif
}
// Whether the OS saves the vector registers an ISA needs (XCR0): a CPU can report AVX-512 while the OS (or a
// hypervisor) leaves ZMM state unsaved, and using it then faults. Bits: 1 SSE, 2 AVX (YMM), 5-7 opmask/ZMM.
bool os_saves(unsigned long long mask) {
#if (defined(__x86_64__) || defined(_M_X64))
  unsigned regs[4] = {0, 0, 0, 0};
#if defined(_MSC_VER)
  int r[4];
  __cpuid(r, 1);
  regs[2] = static_cast<unsigned>(r[2]);
#else
  if (!__get_cpuid(1, &regs[0], &regs[1], &regs[2], &regs[3])) return false;
#endif
  if (((regs[2] >> 27) & 1u) == 0) return false;  // OSXSAVE: XGETBV usable
#if defined(_MSC_VER)
  const unsigned long long xcr0 = _xgetbv(0);
#else
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  const unsigned long long xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
#endif
  return (xcr0 & mask) == mask;
#else
  (void)mask;
  return false;
#endif
}
constexpr unsigned long long kYmmState = 0x6, kZmmState = 0xE6;
}  // namespace

bool cpu_has_avx2() { return cpuid7(0, 1, 5) && os_saves(kYmmState); }
bool cpu_has_avx512f() { return cpuid7(0, 1, 16) && os_saves(kZmmState); }
bool cpu_has_avx512_bf16() { return cpu_has_avx512f() && cpuid7(1, 0, 5); }

namespace {
#if defined(__linux__)
// cgroup v2 cpu.max ("max 100000" or "200000 100000") or v1 cfs quota/period: whole CPUs, rounded up; 0 = none.
int cgroup_cpu_limit() {
  long long quota = -1, period = 0;
  std::ifstream v2("/sys/fs/cgroup/cpu.max");
  std::string q;
  if (v2 >> q >> period) {
    if (q == "max") return 0;
    quota = std::atoll(q.c_str());
  } else {
    std::ifstream fq("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), fp("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
    if (!(fq >> quota) || !(fp >> period)) return 0;
  }
  if (quota <= 0 || period <= 0) return 0;
  return static_cast<int>((quota + period - 1) / period);
}
#endif
}  // namespace

int available_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
  const int limit = cgroup_cpu_limit();
  if (limit > 0 && (n == 0 || limit < n)) n = limit;
  return n;
#elif defined(_WIN32)
  DWORD_PTR process = 0, system = 0;
  if (!GetProcessAffinityMask(GetCurrentProcess(), &process, &system)) return 0;
  int n = 0;
  for (; process != 0; process &= process - 1) ++n;
  return n;
#else
  return 0;
#endif
}

std::string getenv_string(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

void setenv_string(const char* name, const char* value) {
#if defined(_WIN32)
  _putenv_s(name, value);
#else
  setenv(name, value, 1);
#endif
}

void* open_library(const char* name) {
#if defined(_WIN32)
  return reinterpret_cast<void*>(LoadLibraryA(name));
#else
  return dlopen(name, RTLD_NOW | RTLD_LOCAL);
#endif
}

void* library_symbol(void* library, const char* name) {
#if defined(_WIN32)
  return reinterpret_cast<void*>(GetProcAddress(static_cast<HMODULE>(library), name));
#else
  return dlsym(library, name);
#endif
}

}  // namespace mor::platform
