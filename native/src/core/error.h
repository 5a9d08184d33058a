// Errors inside the library are C++ exceptions of one type; every ABI entry point converts them
// to a status code plus the thread-local message (abi_guard.h). Nothing throws across the ABI.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "mor/mor.h"

namespace mor {

class Error : public std::runtime_error {
 public:
  Error(mor_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  mor_status status() const noexcept { return status_; }

 private:
  mor_status status_;
};

[[noreturn]] inline void fail(mor_status status, const std::string& message) { throw Error(status, message); }

inline void require(bool ok, mor_status status, const std::string& message) {
  if (!ok) fail(status, message);
}

void set_last_error(const std::string& message);
void clear_last_error();

}  // namespace mor
