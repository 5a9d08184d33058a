// Counter-based dropout decision shared by the CPU and CUDA backends, so both produce bit-identical
// masks: element i of a mor_dropout call is kept when hash(seed, offset + i) >> 32 >= threshold, with
// threshold = floor(p · 2^32) computed once on the host. The hash is SplitMix64's finaliser applied to
// seed + (index + 1) · golden-ratio increment: no state, so the same (seed, index) always decides the
// same way (the backward reuses the forward's call on dy) and any slice can be recomputed alone.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define MOR_HOST_DEVICE __host__ __device__
#else
#define MOR_HOST_DEVICE
#endif

namespace mor {

MOR_HOST_DEVICE inline uint64_t dropout_hash(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1u) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

MOR_HOST_DEVICE inline bool dropout_keep(uint64_t seed, uint64_t index, uint64_t threshold) {
  return (dropout_hash(seed, index) >> 32) >= threshold;
}

}  // namespace mor
