// Wraps the body of every extern "C" function: no exception may cross the ABI.
#pragma once

#include <new>

#include "core/error.h"

namespace mor {

template <typename F>
int32_t abi_guard(F&& body) noexcept {
  try {
    clear_last_error();
    body();
    return MOR_OK;
  } catch (const Error& e) {
    set_last_error(e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    set_last_error("host out of memory");
    return MOR_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_last_error(std::string("internal error: ") + e.what());
    return MOR_ERR_INTERNAL;
  } catch (...) {
    set_last_error("internal error: unknown exception");
    return MOR_ERR_INTERNAL;
  }
}

}  // namespace mor
