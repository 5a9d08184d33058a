#include "core/error.h"

namespace mor {

namespace {
thread_local std::string t_last_error;
}

void set_last_error(const std::string& message) { t_last_error = message; }
void clear_last_error() { t_last_error.clear(); }

}  // namespace mor

extern "C" MOR_API const char* mor_last_error(void) { return mor::t_last_error.c_str(); }
