// Default bodies for the transformer-op virtuals: a clear "not supported on this backend" error.
#include <string>

#include "core/backend.h"
#include "core/error.h"

namespace mor {

namespace {
[[noreturn]] void unsupported(const Backend& be, const char* op) {
  fail(MOR_ERR_NOT_SUPPORTED,
       std::string(op) + " is not implemented on the " + (be.kind() == MOR_BACKEND_CUDA ? "CUDA" : "CPU") + " backend");
}
}  // namespace

void Backend::rmsnorm_forward(int64_t, int64_t, float, const float*, const float*, float*, float*, NativeStream) {
  unsupported(*this, "rmsnorm_forward");
}
void Backend::rmsnorm_backward(int64_t, int64_t, const float*, const float*, const float*, const float*, float*, float*,
                               NativeStream) {
  unsupported(*this, "rmsnorm_backward");
}
void Backend::rope(int64_t, int64_t, int64_t, float*, int64_t, const int32_t*, const float*, bool, NativeStream) {
  unsupported(*this, "rope");
}
void Backend::attention_forward(const AttentionArgs&, const float*, const float*, const float*, float*, float*,
                                NativeStream) {
  unsupported(*this, "attention_forward");
}
void Backend::attention_backward(const AttentionArgs&, const float*, const float*, const float*, const float*,
                                 const float*, const float*, float*, float*, float*, NativeStream) {
  unsupported(*this, "attention_backward");
}
void Backend::swiglu_forward(int64_t, const float*, const float*, float*, NativeStream) {
  unsupported(*this, "swiglu_forward");
}
void Backend::swiglu_backward(int64_t, const float*, const float*, const float*, float*, float*, NativeStream) {
  unsupported(*this, "swiglu_backward");
}
void Backend::embedding_forward(int64_t, int64_t, const int32_t*, const void*, mor_dtype, float*, NativeStream) {
  unsupported(*this, "embedding_forward");
}
void Backend::embedding_backward(int64_t, int64_t, int64_t, const int32_t*, const float*, float*, NativeStream) {
  unsupported(*this, "embedding_backward");
}
void Backend::cross_entropy(int64_t, int64_t, float*, const int32_t*, int32_t, float*, float, NativeStream) {
  unsupported(*this, "cross_entropy");
}
void Backend::adamw(int64_t, float*, const float*, float*, float*, const AdamWArgs&, NativeStream) {
  unsupported(*this, "adamw");
}
double Backend::sum_squares(int64_t, const float*, NativeStream) { unsupported(*this, "sum_squares"); }
void Backend::axpy(int64_t, float, const float*, float*, NativeStream) { unsupported(*this, "axpy"); }
void Backend::scale(int64_t, float, float*, NativeStream) { unsupported(*this, "scale"); }
void Backend::dropout(int64_t, uint64_t, float, uint64_t, uint64_t, const float*, float*, NativeStream) {
  unsupported(*this, "dropout");
}

}  // namespace mor
