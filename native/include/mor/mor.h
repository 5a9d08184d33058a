/*
 * MoRNative public C ABI.
 *
 * Rules (DESIGN.md §2):
 *  - every entry point returns an int32_t status (MOR_OK == 0); results go through out-pointers;
 *  - no C++ type or exception crosses this boundary; on failure the thread-local message is read
 *    with mor_last_error();
 *  - matrices are row-major; element offsets and leading dimensions are counted in elements;
 *  - a NULL stream means the context's default stream;
 *  - parameter-gradient outputs of *_backward ops are ACCUMULATED (+=), so gradient accumulation over
 *    micro-batches needs no extra buffers; dX outputs are accumulated too (the caller writes the
 *    frozen-base contribution first with mor_gemm, beta = 0).
 *
 * The only exception to "returns a status" is mor_abi_version(), which must stay callable across
 * any future ABI change so that a mismatch can be detected at all.
 */
#ifndef MOR_MOR_H
#define MOR_MOR_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(MOR_BUILDING_LIBRARY)
#define MOR_API __declspec(dllexport)
#else
#define MOR_API __declspec(dllimport)
#endif
#else
#define MOR_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define MOR_ABI_VERSION 3

/* ---- status ---------------------------------------------------------------------------------- */
typedef enum mor_status {
  MOR_OK = 0,
  MOR_ERR_INVALID_ARGUMENT = 1, /* null handle, negative size, bad enum, ... */
  MOR_ERR_SHAPE = 2,            /* a buffer is too small for the dimensions given */
  MOR_ERR_DTYPE = 3,            /* a dtype the op does not accept */
  MOR_ERR_OUT_OF_MEMORY = 4,    /* host or device allocation failed (message has the sizes) */
  MOR_ERR_NO_DEVICE = 5,        /* no driver, no GPU, or the backend was not compiled in */
  MOR_ERR_CUDA = 6,             /* a CUDA runtime error (message has cudaGetErrorString) */
  MOR_ERR_CUBLAS = 7,           /* a cuBLAS error */
  MOR_ERR_NOT_SUPPORTED = 8,    /* valid request this backend/dtype combination cannot do */
  MOR_ERR_INTERNAL = 9,         /* a bug: please report the message */
  MOR_ERR_COMM = 10             /* a collective failed or timed out (a peer rank died or hung) */
} mor_status;

typedef enum mor_backend { MOR_BACKEND_CPU = 0, MOR_BACKEND_CUDA = 1 } mor_backend;

typedef enum mor_dtype {
  MOR_DTYPE_F32 = 0,
  MOR_DTYPE_F16 = 1,
  MOR_DTYPE_BF16 = 2,
  MOR_DTYPE_I32 = 3,
  MOR_DTYPE_I64 = 4
} mor_dtype;

typedef struct mor_context_t* mor_context;
typedef struct mor_stream_t* mor_stream;
typedef struct mor_buffer_t* mor_buffer;

/* ---- library ----------------------------------------------------------------------------------- */
MOR_API int32_t mor_abi_version(void);
/* Thread-local UTF-8 message of the last failed call on this thread; "" if none. Owned by the library,
 * valid until the next call on this thread. Never NULL. */
MOR_API const char* mor_last_error(void);
/* Static build description ("mor 0.1.0; cpu: openblas; cuda: 11.8 sm_80,sm_90"). */
MOR_API int32_t mor_build_info(const char** out);

/* Live handle counts over the whole process: what a leak test compares against a baseline. */
typedef struct mor_handle_stats {
  int64_t contexts;
  int64_t streams;
  int64_t buffers;
} mor_handle_stats;
MOR_API int32_t mor_handle_stats_get(mor_handle_stats* out);

/* ---- CPU threads ------------------------------------------------------------------------------- */
/* The CPU backend runs its parallel loops, and the tiles of its BLAS products, on one process-wide pool of
 * threads (BLAS itself is kept single-threaded). `threads` counts the calling thread; 0 restores the default:
 * MOR_NUM_THREADS when set, else OMP_NUM_THREADS, else the CPUs the process may run on (its affinity mask and
 * cgroup CPU quota). Results do not depend on the count. Waits for a loop running on another thread. */
MOR_API int32_t mor_cpu_set_threads(int32_t threads);
MOR_API int32_t mor_cpu_get_threads(int32_t* threads);

/* What the pool has done since the process started: for tests ("a small op stays on the calling thread") and
 * for diagnosing a slow step. */
typedef struct mor_cpu_thread_stats {
  int64_t serial_loops;   /* loops of one chunk: too little work to share, run on the calling thread */
  int64_t parallel_loops; /* loops shared with the pool's workers */
  int64_t inline_loops;   /* loops of several chunks run on the calling thread: nested in another loop, one
                             thread configured, or the pool busy with another thread's loop */
  int64_t worker_sleeps;  /* times a worker found no work for a while and went to sleep */
  int32_t threads;        /* the configured count (mor_cpu_set_threads) */
  int32_t workers;        /* worker threads started (threads - 1 once a loop has needed them) */
} mor_cpu_thread_stats;
MOR_API int32_t mor_cpu_thread_stats_get(mor_cpu_thread_stats* out);

/* ---- devices ----------------------------------------------------------------------------------- */
/* Number of usable devices of a backend; never aborts. CPU: always 1. CUDA: 0 when not compiled in,
 * no driver or no GPU (status is still MOR_OK; mor_last_error() then says why). */
MOR_API int32_t mor_device_count(int32_t backend, int32_t* count);

typedef struct mor_device_info {
  char name[256];
  int64_t total_memory_bytes;
  int32_t compute_capability_major;
  int32_t compute_capability_minor;
  int32_t multiprocessor_count;
  int32_t reserved;
} mor_device_info;
MOR_API int32_t mor_device_info_get(int32_t backend, int32_t device, mor_device_info* out);
/* Free and total memory of a CUDA device now (cudaMemGetInfo; what other processes hold is not free), so that a
 * run can be sized before it allocates. CPU: MOR_ERR_NOT_SUPPORTED (host memory is the operating system's to
 * report). The calling thread's current CUDA device is left as it was. */
MOR_API int32_t mor_device_memory_get(int32_t backend, int32_t device, int64_t* free_bytes, int64_t* total_bytes);

/* ---- contexts and streams ---------------------------------------------------------------------- */
/* MOR_ERR_NO_DEVICE when the backend or device is not available; the process can continue on CPU. */
MOR_API int32_t mor_context_create(int32_t backend, int32_t device, mor_context* out);
MOR_API int32_t mor_context_destroy(mor_context ctx);
MOR_API int32_t mor_context_backend(mor_context ctx, int32_t* backend);
MOR_API int32_t mor_context_synchronize(mor_context ctx);
/* Lets the GEMMs inside fused ops (adapters: LoRA, MoR, MoE-LoRA, DoRA) use TF32 tensor cores for their
 * F32 operands on CUDA (off by default; no effect on CPU). With a BF16 frozen base the adapter GEMMs are
 * otherwise F32 SIMT GEMMs, several times slower than the base's BF16 tensor-core GEMMs.
 * It also lets mor_attention_forward/backward run on BF16 tensor cores (q, k, v, dout and the
 * probabilities rounded to BF16, F32 accumulation and softmax; ~3e-3 relative error instead of ~1e-6)
 * on sm_80+ for head_dim 64 or 128, q_len >= 16 and 16-byte-aligned rows; other problems keep the F32
 * kernels. Still deterministic. The environment variable MOR_ATTENTION=f32 keeps attention on the F32
 * kernels regardless. */
MOR_API int32_t mor_context_set_allow_tf32(mor_context ctx, int32_t allow);

MOR_API int32_t mor_stream_create(mor_context ctx, mor_stream* out);
MOR_API int32_t mor_stream_destroy(mor_stream stream);
MOR_API int32_t mor_stream_synchronize(mor_stream stream);

/* ---- allocator --------------------------------------------------------------------------------- */
typedef struct mor_allocator_stats {
  int64_t live_bytes;         /* bytes in buffers handed out and not yet freed */
  int64_t live_allocations;   /* buffers handed out and not yet freed */
  int64_t peak_bytes;         /* high-water mark of live_bytes since creation or reset */
  int64_t cached_bytes;       /* freed blocks kept by the caching allocator for reuse */
  int64_t reserved_bytes;     /* bytes obtained from the system (live + cached) */
  int64_t system_allocations; /* calls to the underlying malloc/cudaMalloc, for "steady state allocates nothing" */
} mor_allocator_stats;
MOR_API int32_t mor_allocator_stats_get(mor_context ctx, mor_allocator_stats* out);
MOR_API int32_t mor_allocator_reset_peak(mor_context ctx);
/* Return cached blocks to the system. */
MOR_API int32_t mor_allocator_trim(mor_context ctx);

/* ---- buffers ----------------------------------------------------------------------------------- */
/* A buffer is a device (or host, for CPU) allocation of `numel` elements of `dtype`. Freeing is
 * stream-ordered: the memory is reused only after work queued on `stream` before the free. */
MOR_API int32_t mor_buffer_create(mor_context ctx, int32_t dtype, int64_t numel, mor_stream stream, mor_buffer* out);
MOR_API int32_t mor_buffer_destroy(mor_buffer buf);
MOR_API int32_t mor_buffer_numel(mor_buffer buf, int64_t* numel);
MOR_API int32_t mor_buffer_dtype(mor_buffer buf, int32_t* dtype);
/* Raw address (host pointer on CPU, device pointer on CUDA): for zero-copy views in managed code. */
MOR_API int32_t mor_buffer_data(mor_buffer buf, void** data);

/* Byte-exact copies; offsets and counts are in elements of the buffer's dtype. Host-side copies
 * are complete when the call returns (download synchronises the stream). */
MOR_API int32_t mor_buffer_upload(mor_buffer dst, int64_t dst_offset, const void* host, int64_t count,
                                  mor_stream stream);
MOR_API int32_t mor_buffer_download(mor_buffer src, int64_t src_offset, void* host, int64_t count, mor_stream stream);
MOR_API int32_t mor_buffer_copy(mor_buffer dst, int64_t dst_offset, mor_buffer src, int64_t src_offset, int64_t count,
                                mor_stream stream);
/* Fill `count` elements from `offset` with the value given as a double (converted to the dtype). */
MOR_API int32_t mor_buffer_fill(mor_buffer buf, int64_t offset, int64_t count, double value, mor_stream stream);
/* Elementwise conversion between F32/F16/BF16 (round to nearest even); numel must match. */
MOR_API int32_t mor_cast(mor_buffer dst, mor_buffer src, mor_stream stream);

/* ---- dense linear algebra ---------------------------------------------------------------------- */
typedef enum mor_transpose { MOR_NO_TRANS = 0, MOR_TRANS = 1 } mor_transpose;

/* Strided-batched row-major GEMM: for b in [0, batch):
 *   C_b[m×n] = alpha · op(A_b) · op(B_b) + beta · C_b
 * op(A) is m×k (A stored k×m when trans_a), op(B) is k×n (B stored n×k when trans_b).
 * A and B are F32, F16 or BF16. When they differ, the F32 operand is first rounded to the other's
 * 16-bit type (so CPU and CUDA compute the same products); F16 with BF16 is rejected.
 * C is F32 or the 16-bit input type. Accumulation is always F32.
 * `allow_tf32` lets the CUDA backend use TF32 tensor cores for F32 inputs. */
MOR_API int32_t mor_gemm(mor_context ctx, mor_stream stream, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n,
                         int64_t k, float alpha, mor_buffer a, int64_t a_offset, int64_t lda, int64_t stride_a,
                         mor_buffer b, int64_t b_offset, int64_t ldb, int64_t stride_b, float beta, mor_buffer c,
                         int64_t c_offset, int64_t ldc, int64_t stride_c, int64_t batch, int32_t allow_tf32);

/* ---- adapters (MOR.md) ---------------------------------------------------------------------------
 * Shapes: T tokens, d_in, d_out, rank r, N experts, scale s = alpha / r.
 * x: T×d_in F32. y, dy: T×d_out F32. Adapter parameters and gradients: F32.
 * "ag" is the stacked down-projection [A ; W_g]: rows 0..R-1 are A (R = r for MoR, N·r for MoE-LoRA),
 * rows R..R+N-1 the router W_g. One GEMM then gives [h | z] for the whole layer.
 * Saved activations: hz (T×(R+N), the raw [h | z]) and g (T×N, softmax of z). */

/* LoRA: y += s · (x Aᵀ) Bᵀ. a: r×d_in, b: d_out×r. Saves h (T×r). */
MOR_API int32_t mor_lora_forward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out, int64_t r,
                                 float scale, mor_buffer x, mor_buffer a, mor_buffer b, mor_buffer h, mor_buffer y);
/* da += (s dy B)ᵀ x; db += s dyᵀ h; dx (optional, may be NULL) += (s dy B) A. */
MOR_API int32_t mor_lora_backward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out, int64_t r,
                                  float scale, mor_buffer x, mor_buffer a, mor_buffer b, mor_buffer h, mor_buffer dy,
                                  mor_buffer da, mor_buffer db, mor_buffer dx);

/* MoR: q (d_out×N·r) is Q[j,(i,k)] = ω_B[i,j]·B[j,k]; build it once per parameter update. */
MOR_API int32_t mor_build_q(mor_context ctx, mor_stream stream, int64_t d_out, int64_t r, int64_t N, mor_buffer b,
                            mor_buffer omega_b, mor_buffer q);
/* y += s · P Qᵀ with P[t,(i,k)] = g[t,i]·ω_A[i,k]·h[t,k], [h|z] = x·agᵀ, g = softmax(z).
 * ag: (r+N)×d_in, omega_a: N×r, q: d_out×N·r. Saves hz (T×(r+N)) and g (T×N). */
MOR_API int32_t mor_forward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out, int64_t r,
                            int64_t N, float scale, mor_buffer x, mor_buffer ag, mor_buffer omega_a, mor_buffer q,
                            mor_buffer hz, mor_buffer g, mor_buffer y);
/* Accumulates dag ((r+N)×d_in: [dA ; dW_g]), domega_a (N×r), db (d_out×r), domega_b (N×d_out) and,
 * when dx is not NULL, dx (T×d_in). b: d_out×r, omega_b: N×d_out. Deterministic: no float atomics. */
MOR_API int32_t mor_backward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out, int64_t r,
                             int64_t N, float scale, mor_buffer x, mor_buffer ag, mor_buffer omega_a, mor_buffer b,
                             mor_buffer omega_b, mor_buffer q, mor_buffer hz, mor_buffer g, mor_buffer dy,
                             mor_buffer dag, mor_buffer domega_a, mor_buffer db, mor_buffer domega_b, mor_buffer dx);

/* Dense MoE-LoRA: y += s · Σ_i g_i B_i A_i x. ag: (N·r+N)×d_in ([A_0;…;A_{N-1};W_g]),
 * b: d_out×N·r (column block i is B_i). Saves hz (T×(N·r+N)) and g (T×N). */
MOR_API int32_t mor_moe_lora_forward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out,
                                     int64_t r, int64_t N, float scale, mor_buffer x, mor_buffer ag, mor_buffer b,
                                     mor_buffer hz, mor_buffer g, mor_buffer y);
MOR_API int32_t mor_moe_lora_backward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out,
                                      int64_t r, int64_t N, float scale, mor_buffer x, mor_buffer ag, mor_buffer b,
                                      mor_buffer hz, mor_buffer g, mor_buffer dy, mor_buffer dag, mor_buffer db,
                                      mor_buffer dx);

/* DoRA (PEFT semantics, norm detached): y = c ⊙ (W x + s·B A x), c = m / ‖W + s·B A‖_row.
 * w: d_out×d_in frozen weight (F32 or BF16), w_norm2: d_out precomputed ‖W_j‖² (F32, see
 * mor_row_norm2). Writes norm (d_out, the detached ‖W + sBA‖_row) and needs the caller to pass
 * base = W x (T×d_out, F32) which it overwrites with u = W x + s B A x; y = c ⊙ u.
 * Saves h (T×r). */
MOR_API int32_t mor_row_norm2(mor_context ctx, mor_stream stream, int64_t rows, int64_t cols, mor_buffer w,
                              mor_buffer out);
MOR_API int32_t mor_dora_forward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out, int64_t r,
                                 float scale, mor_buffer x, mor_buffer w, mor_buffer w_norm2, mor_buffer a,
                                 mor_buffer b, mor_buffer m, mor_buffer h, mor_buffer norm, mor_buffer base,
                                 mor_buffer y);
/* Accumulates dm (d_out), da, db and dx (optional; the full dx = (c⊙dy)·W + LoRA path, written with
 * beta = 1 into dx: the caller does NOT add the base path separately for DoRA). u is the `base`
 * buffer as left by mor_dora_forward. */
MOR_API int32_t mor_dora_backward(mor_context ctx, mor_stream stream, int64_t T, int64_t d_in, int64_t d_out, int64_t r,
                                  float scale, mor_buffer x, mor_buffer w, mor_buffer a, mor_buffer b, mor_buffer m,
                                  mor_buffer h, mor_buffer norm, mor_buffer u, mor_buffer dy, mor_buffer dm,
                                  mor_buffer da, mor_buffer db, mor_buffer dx);

/* ---- transformer ops (llm.c style: explicit forward/backward, saved tensors spelled out) ---------
 * Activations are F32, row-major, tokens × features. Like the adapter ops, every *_backward ADDS
 * into all of its gradient outputs (input and parameter gradients alike); zero them when needed. */

/* RMSNorm (HF LlamaRMSNorm): y = x · rstd ⊙ w, rstd = 1/sqrt(mean(x²) + eps). x, y: T×C; w: C.
 * Saves rstd (T). */
MOR_API int32_t mor_rmsnorm_forward(mor_context ctx, mor_stream stream, int64_t T, int64_t C, float eps, mor_buffer x,
                                    mor_buffer w, mor_buffer y, mor_buffer rstd);
/* dx += ∂/∂x, dw += ∂/∂w (dw may be NULL for a frozen norm). */
MOR_API int32_t mor_rmsnorm_backward(mor_context ctx, mor_stream stream, int64_t T, int64_t C, mor_buffer x,
                                     mor_buffer w, mor_buffer rstd, mor_buffer dy, mor_buffer dx, mor_buffer dw);

/* Rotary embedding, HF rotate_half convention, in place on H heads of D (even) per row:
 * row t of x starts at x_offset + t·ld. angle = position[t]·inv_freq[i] (i < D/2, F32 product as HF);
 * (x_i, x_{i+D/2}) ← (x_i cos − x_{i+D/2} sin, x_{i+D/2} cos + x_i sin). inverse = 1 rotates by −angle,
 * which is the backward (the map is orthogonal). positions: I32 (T); inv_freq: F32 (D/2). */
MOR_API int32_t mor_rope(mor_context ctx, mor_stream stream, int64_t T, int64_t H, int64_t D, mor_buffer x,
                         int64_t x_offset, int64_t ld, mor_buffer positions, mor_buffer inv_freq, int32_t inverse);

/* Causal grouped-query attention without a T×T matrix (flash-style online softmax).
 * q row (b,t) starts at q_offset + (b·q_len + t)·q_row_stride, head h at +h·head_dim;
 * k/v row (b,j) at k_offset/v_offset + b·kv_batch_stride + j·kv_row_stride, kv head at +h·head_dim.
 * Query head h reads kv head h / (q_heads / kv_heads). With causal = 1, query t sees keys
 * j <= (kv_len − q_len) + t, so a KV cache is just kv_len > q_len.
 * out: dense batch×q_len×q_heads×head_dim. lse (F32, batch×q_heads×q_len) is saved for backward.
 * Gradients dq/dk/dv use the same layouts as q/k/v (offsets and strides) and are accumulated. */
typedef struct mor_attention_dims {
  int64_t batch, q_len, kv_len, q_heads, kv_heads, head_dim;
  int64_t q_offset, q_row_stride;
  int64_t k_offset, v_offset, kv_row_stride, kv_batch_stride;
  float scale;
  int32_t causal;
} mor_attention_dims;
MOR_API int32_t mor_attention_forward(mor_context ctx, mor_stream stream, const mor_attention_dims* dims, mor_buffer q,
                                      mor_buffer k, mor_buffer v, mor_buffer out, mor_buffer lse);
MOR_API int32_t mor_attention_backward(mor_context ctx, mor_stream stream, const mor_attention_dims* dims, mor_buffer q,
                                       mor_buffer k, mor_buffer v, mor_buffer out, mor_buffer lse, mor_buffer dout,
                                       mor_buffer dq, mor_buffer dk, mor_buffer dv);

/* SwiGLU: out = silu(gate) ⊙ up over n elements. */
MOR_API int32_t mor_swiglu_forward(mor_context ctx, mor_stream stream, int64_t n, mor_buffer gate, mor_buffer up,
                                   mor_buffer out);
MOR_API int32_t mor_swiglu_backward(mor_context ctx, mor_stream stream, int64_t n, mor_buffer gate, mor_buffer up,
                                    mor_buffer dout, mor_buffer dgate, mor_buffer dup);

/* Embedding lookup: out[t] = table[ids[t]] (table V×C, F32 or BF16; ids I32 in [0, V)). */
MOR_API int32_t mor_embedding_forward(mor_context ctx, mor_stream stream, int64_t T, int64_t C, int64_t V,
                                      mor_buffer ids, mor_buffer table, mor_buffer out);
/* dtable[ids[t]] += dout[t], deterministic (fixed order over t for every row). */
MOR_API int32_t mor_embedding_backward(mor_context ctx, mor_stream stream, int64_t T, int64_t C, int64_t V,
                                       mor_buffer ids, mor_buffer dout, mor_buffer dtable);

/* Cross-entropy over rows of logits (T×V, F32): losses[t] = logsumexp(logits[t]) − logits[t, target[t]],
 * 0 where target == ignore_index. When grad_scale != 0, logits is overwritten IN PLACE with
 * grad_scale·(softmax − onehot) (a zero row where ignored): the fused, chunkable LM-head step. */
MOR_API int32_t mor_cross_entropy(mor_context ctx, mor_stream stream, int64_t T, int64_t V, mor_buffer logits,
                                  mor_buffer targets, int32_t ignore_index, mor_buffer losses, float grad_scale);

/* AdamW (decoupled weight decay, bias-corrected), fused over n elements; grads are multiplied by
 * grad_scale first (clipping and accumulation averaging fold in here). step counts from 1. */
typedef struct mor_adamw_params {
  float lr, beta1, beta2, eps, weight_decay, grad_scale;
  int64_t step;
} mor_adamw_params;
MOR_API int32_t mor_adamw_step(mor_context ctx, mor_stream stream, int64_t n, mor_buffer params, mor_buffer grads,
                               mor_buffer m, mor_buffer v, const mor_adamw_params* hp);

/* Σ x² over n elements (F32), deterministic, returned to the host as a double (synchronous).
 * NaN/Inf in x propagate: this doubles as the non-finite gradient check. */
MOR_API int32_t mor_sum_squares(mor_context ctx, mor_stream stream, int64_t n, mor_buffer x, int64_t x_offset,
                                double* out);
/* y += alpha·x and x *= alpha, over n F32 elements from the given offsets. */
MOR_API int32_t mor_axpy(mor_context ctx, mor_stream stream, int64_t n, float alpha, mor_buffer x, int64_t x_offset,
                         mor_buffer y, int64_t y_offset);
MOR_API int32_t mor_scale(mor_context ctx, mor_stream stream, int64_t n, float alpha, mor_buffer x, int64_t x_offset);
/* Inverted dropout over n F32 elements (PEFT's lora_dropout on the adapter input):
 * out[i] = keep(i) ? x[i] / (1 − p) : 0, keep(i) = (hash(seed, offset + i) >> 32) >= floor(p · 2^32), with
 * hash the SplitMix64 finaliser of seed + (index + 1) · 0x9E3779B97F4A7C15. Counter-based: CPU and CUDA give
 * bit-identical masks and the same (seed, index) always decides alike, so the backward is the same call on
 * dy (d_in = d_out · keep / (1 − p)). 0 <= p < 1; p = 0 copies. x may be out (in place). */
MOR_API int32_t mor_dropout(mor_context ctx, mor_stream stream, int64_t n, float p, uint64_t seed, uint64_t offset,
                            mor_buffer x, mor_buffer out);

/* ---- communication (data-parallel training) ----------------------------------------------------
 * A mor_comm is a group of ranks (processes) that sum gradients and share parameters. Backends:
 * MPI (CPU buffers directly; CUDA buffers staged through host memory) and NCCL (CUDA buffers, one GPU
 * per rank; bootstrapped over an MPI communicator). A library built without a backend returns
 * MOR_ERR_NOT_SUPPORTED from its create function, with a message saying how to build it in.
 *
 * Every collective is bounded in time: when it has not completed after MOR_COMM_TIMEOUT_S seconds
 * (environment, read at create; default 300) it fails with MOR_ERR_COMM and a message naming the
 * rank and the operation ("a peer rank probably died"), instead of hanging. After such a failure the
 * communicator is unusable: every later call fails with MOR_ERR_COMM, and the process should call
 * mor_comm_abort (which ends every rank) rather than mor_comm_destroy.
 * Collectives must be called by every rank in the same order with the same counts. Calls on one
 * communicator are serialised internally. Buffers are given as (buffer, offset, count) in elements;
 * the context and stream are those the buffer is used on (the stream orders the staging copies). */
typedef struct mor_comm_t* mor_comm;

/* Wraps (a duplicate of) MPI_COMM_WORLD. Initialises MPI (MPI_Init_thread, MPI_THREAD_SERIALIZED)
 * unless the process already has; argc_unused is reserved: pass NULL. Collective over all ranks. */
MOR_API int32_t mor_comm_create_mpi(int32_t* argc_unused, mor_comm* out);
/* A NCCL communicator over the same ranks as `bootstrap` (whose rank 0 broadcasts the NCCL unique
 * id), on the CUDA device of `ctx`. Collective over all ranks. */
MOR_API int32_t mor_comm_create_nccl(mor_comm bootstrap, mor_context ctx, mor_comm* out);
MOR_API int32_t mor_comm_rank(mor_comm comm, int32_t* rank);
MOR_API int32_t mor_comm_size(mor_comm comm, int32_t* size);
/* In place: buf[offset, offset+count) becomes the sum of that range over all ranks. F32 only.
 * Complete (and the result visible on `stream`) when the call returns. */
MOR_API int32_t mor_comm_allreduce_sum_f32(mor_comm comm, mor_context ctx, mor_stream stream, mor_buffer buf,
                                           int64_t offset, int64_t count);
/* In place: every rank's buf[offset, offset+count) becomes rank `root`'s (any dtype, byte copy). */
MOR_API int32_t mor_comm_broadcast(mor_comm comm, mor_context ctx, mor_stream stream, mor_buffer buf, int64_t offset,
                                   int64_t count, int32_t root);
MOR_API int32_t mor_comm_barrier(mor_comm comm);
/* Ends every rank of the job with exit code `code` (MPI_Abort); returns only if that fails. */
MOR_API int32_t mor_comm_abort(mor_comm comm, int32_t code);
/* Frees the communicator; the last MPI communicator finalises MPI when mor_comm_create_mpi
 * initialised it (MPI cannot be initialised again in this process afterwards). NULL is a no-op. */
MOR_API int32_t mor_comm_destroy(mor_comm comm);

#ifdef __cplusplus
}
#endif

#endif /* MOR_MOR_H */
