// Everything that differs between Linux, Windows and macOS lives behind these few functions.
#pragma once

#include <cstddef>
#include <string>

namespace mor::platform {

void* aligned_alloc(size_t bytes, size_t alignment);  // nullptr on failure
void aligned_free(void* p) noexcept;
bool cpu_has_avx2();
bool cpu_has_avx512f();
bool cpu_has_avx512_bf16();
// CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota (Linux); 0 when unknown.
int available_cpus();
std::string getenv_string(const char* name);
void setenv_string(const char* name, const char* value);  // for this process's native environment

// Dynamic loading: nullptr when the library or symbol is absent (never throws).
void* open_library(const char* name);
void* library_symbol(void* library, const char* name);

}  // namespace mor::platform
