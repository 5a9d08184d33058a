// Linked when the library is built without the CUDA backend: CUDA requests report "no device".
#include "core/error.h"
#include "core/handles.h"

namespace mor {

std::unique_ptr<Backend> create_cuda_backend(int32_t) {
  fail(MOR_ERR_NO_DEVICE, "this libmor was built without the CUDA backend (configure with -DMOR_CUDA=ON)");
}

int32_t cuda_device_count(std::string* why_zero) {
  if (why_zero) *why_zero = "this libmor was built without the CUDA backend";
  return 0;
}

void cuda_device_info(int32_t, mor_device_info*) {
  fail(MOR_ERR_NO_DEVICE, "this libmor was built without the CUDA backend");
}

void cuda_memory_info(int32_t, int64_t*, int64_t*) {
  fail(MOR_ERR_NO_DEVICE, "this libmor was built without the CUDA backend");
}

const char* cuda_build_info() { return "not built"; }

}  // namespace mor
