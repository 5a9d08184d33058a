// CPU versions of the fused kernels (backend.h), parallel over tokens or output rows on the thread pool;
// every reduction runs in a fixed order that does not depend on the thread count (thread_pool.h), so
// results are bit-identical run to run and machine to machine.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/float16.h"
#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "cpu/thread_pool.h"

namespace mor::cpu {

namespace {
// Tokens per partial sum in the two-phase dω_A reduction. A constant, not the thread count.
constexpr int64_t kTokenChunk = 64;
}  // namespace

void gate_forward(const GateShape& sh, const float* hz, const float* omega_a, float* g, float* p) {
  const int64_t N = sh.N, r = sh.r, R = sh.R(), ld = sh.ldhz();
  parallel_for_each(sh.T, 4 * N * r, [&](int64_t t) {
    const float* h = hz + t * ld;
    const float* z = h + R;
    float* gt = g + t * N;
    float zmax = z[0];
    for (int64_t i = 1; i < N; ++i) zmax = std::max(zmax, z[i]);
    float sum = 0.0f;
    for (int64_t i = 0; i < N; ++i) {
      gt[i] = std::exp(z[i] - zmax);
      sum += gt[i];
    }
    const float inv = 1.0f / sum;
    for (int64_t i = 0; i < N; ++i) gt[i] *= inv;
    float* pt = p + t * N * r;
    for (int64_t i = 0; i < N; ++i) {
      const float* hi = sh.h_shared ? h : h + i * r;
      const float* wi = omega_a ? omega_a + i * r : nullptr;
      for (int64_t k = 0; k < r; ++k) pt[i * r + k] = gt[i] * (wi ? wi[k] : 1.0f) * hi[k];
    }
  });
}

void gate_backward(const GateShape& sh, const float* hz, const float* g, const float* omega_a, const float* dp,
                   float* dhz, float* domega_a) {
  const int64_t N = sh.N, r = sh.r, R = sh.R(), ld = sh.ldhz(), K = N * r;
  const int64_t chunks = (sh.T + kTokenChunk - 1) / kTokenChunk;
  std::vector<float> partial(domega_a ? static_cast<size_t>(chunks * K) : 0, 0.0f);
  parallel_for(chunks, grain_for(kTokenChunk * 6 * K), [&](int64_t c0, int64_t c1) {
    std::vector<float> dg(static_cast<size_t>(N));
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t t_end = std::min(sh.T, (c + 1) * kTokenChunk);
      for (int64_t t = c * kTokenChunk; t < t_end; ++t) {
        const float* h = hz + t * ld;
        const float* gt = g + t * N;
        const float* dpt = dp + t * K;
        float* dh = dhz + t * ld;
        float* dz = dh + R;
        if (sh.h_shared) std::fill(dh, dh + r, 0.0f);
        for (int64_t i = 0; i < N; ++i) {
          const float* hi = sh.h_shared ? h : h + i * r;
          const float* wi = omega_a ? omega_a + i * r : nullptr;
          float dgi = 0.0f;
          for (int64_t k = 0; k < r; ++k) {
            const float w = wi ? wi[k] : 1.0f;
            const float d = dpt[i * r + k];
            dgi += d * w * hi[k];
            if (sh.h_shared)
              dh[k] += d * gt[i] * w;
            else
              dh[i * r + k] = d * gt[i];
          }
          dg[i] = dgi;
          if (domega_a) {
            float* part = &partial[c * K + i * r];
            for (int64_t k = 0; k < r; ++k) part[k] += dpt[i * r + k] * gt[i] * hi[k];
          }
        }
        float dot = 0.0f;
        for (int64_t i = 0; i < N; ++i) dot += gt[i] * dg[i];
        for (int64_t i = 0; i < N; ++i) dz[i] = gt[i] * (dg[i] - dot);
      }
    }
  });
  if (domega_a)
    for (int64_t c = 0; c < chunks; ++c)
      for (int64_t j = 0; j < K; ++j) domega_a[j] += partial[c * K + j];
}

void build_q(int64_t d_out, int64_t r, int64_t N, const float* b, const float* omega_b, float* q) {
  parallel_for_each(d_out, N * r, [&](int64_t j) {
    for (int64_t i = 0; i < N; ++i) {
      const float w = omega_b[i * d_out + j];
      for (int64_t k = 0; k < r; ++k) q[j * N * r + i * r + k] = w * b[j * r + k];
    }
  });
}

void reduce_dq(int64_t d_out, int64_t r, int64_t N, const float* dq, const float* b, const float* omega_b, float* db,
               float* domega_b) {
  parallel_for_each(d_out, 4 * N * r, [&](int64_t j) {
    const float* dqj = dq + j * N * r;
    for (int64_t k = 0; k < r; ++k) {
      float s = 0.0f;
      for (int64_t i = 0; i < N; ++i) s += dqj[i * r + k] * omega_b[i * d_out + j];
      db[j * r + k] += s;
    }
    for (int64_t i = 0; i < N; ++i) {
      float s = 0.0f;
      for (int64_t k = 0; k < r; ++k) s += dqj[i * r + k] * b[j * r + k];
      domega_b[i * d_out + j] += s;
    }
  });
}

void row_norm2(int64_t rows, int64_t cols, const void* w, mor_dtype w_type, float* out) {
  parallel_for_each(rows, 2 * cols, [&](int64_t i) {
    double s = 0.0;  // a constant computed once per model load: spend the precision
    for (int64_t j = 0; j < cols; ++j) {
      const float v = w_type == MOR_DTYPE_BF16 ? bf16_to_f32(static_cast<const uint16_t*>(w)[i * cols + j])
                                               : static_cast<const float*>(w)[i * cols + j];
      s += static_cast<double>(v) * v;
    }
    out[i] = static_cast<float>(s);
  });
}

void dora_norm(int64_t d_out, int64_t r, float scale, const float* w_norm2, const float* b, const float* wat,
               const float* gram, float* norm) {
  parallel_for_each(d_out, 2 * r * (r + 1), [&](int64_t j) {
    const float* bj = b + j * r;
    float cross = 0.0f, quad = 0.0f;
    for (int64_t k = 0; k < r; ++k) {
      cross += bj[k] * wat[j * r + k];
      float gk = 0.0f;
      for (int64_t l = 0; l < r; ++l) gk += gram[k * r + l] * bj[l];
      quad += bj[k] * gk;
    }
    const float n2 = w_norm2[j] + 2.0f * scale * cross + scale * scale * quad;
    norm[j] = std::sqrt(std::max(n2, 0.0f));
  });
}

void dora_scale_forward(int64_t T, int64_t d_out, const float* m, const float* norm, const float* u, float* y) {
  parallel_for_each(T, 2 * d_out, [&](int64_t t) {
    for (int64_t j = 0; j < d_out; ++j) y[t * d_out + j] = m[j] / norm[j] * u[t * d_out + j];
  });
}

void dora_scale_backward(int64_t T, int64_t d_out, const float* m, const float* norm, const float* u, const float* dy,
                         float* du, float* dm) {
  parallel_for_each(T, 2 * d_out, [&](int64_t t) {
    for (int64_t j = 0; j < d_out; ++j) du[t * d_out + j] = dy[t * d_out + j] * (m[j] / norm[j]);
  });
  // Column sums over tokens, in token order for each j (parallel over j only).
  parallel_for_each(d_out, 2 * T, [&](int64_t j) {
    float s = 0.0f;
    for (int64_t t = 0; t < T; ++t) s += dy[t * d_out + j] * u[t * d_out + j];
    dm[j] += s / norm[j];
  });
}

void fill(void* dst, mor_dtype t, int64_t count, double value) {
  switch (t) {
    case MOR_DTYPE_F32:
      std::fill_n(static_cast<float*>(dst), count, static_cast<float>(value));
      break;
    case MOR_DTYPE_BF16:
      std::fill_n(static_cast<uint16_t*>(dst), count, f32_to_bf16(static_cast<float>(value)));
      break;
    case MOR_DTYPE_F16:
      std::fill_n(static_cast<uint16_t*>(dst), count, f32_to_f16(static_cast<float>(value)));
      break;
    case MOR_DTYPE_I32:
      std::fill_n(static_cast<int32_t*>(dst), count, static_cast<int32_t>(value));
      break;
    case MOR_DTYPE_I64:
      std::fill_n(static_cast<int64_t*>(dst), count, static_cast<int64_t>(value));
      break;
  }
}

void cast(void* dst, mor_dtype dst_type, const void* src, mor_dtype src_type, int64_t count) {
  if (dst_type == src_type) {
    std::memmove(dst, src, static_cast<size_t>(count) * (dst_type == MOR_DTYPE_F32 ? 4 : 2));
    return;
  }
  parallel_for_each(count, 2, [&](int64_t i) {
    float v;
    switch (src_type) {
      case MOR_DTYPE_F32:
        v = static_cast<const float*>(src)[i];
        break;
      case MOR_DTYPE_BF16:
        v = bf16_to_f32(static_cast<const uint16_t*>(src)[i]);
        break;
      default:
        v = f16_to_f32(static_cast<const uint16_t*>(src)[i]);
        break;
    }
    switch (dst_type) {
      case MOR_DTYPE_F32:
        static_cast<float*>(dst)[i] = v;
        break;
      case MOR_DTYPE_BF16:
        static_cast<uint16_t*>(dst)[i] = f32_to_bf16(v);
        break;
      default:
        static_cast<uint16_t*>(dst)[i] = f32_to_f16(v);
        break;
    }
  });
}

}  // namespace mor::cpu
