// Eight-lane helpers shared by the kernels (AVX-512 machines run them with 32 vector registers
// and masked operations, AVX2 machines with 16, others with SSE pairs). They are macros, not functions: a function that
// takes or returns a 256-bit vector cannot be called from the baseline (non-AVX) clone, while
// a macro is expanded inside each clone and compiled with that clone's instruction set.
// Each macro's locals carry its own prefix so that nested expansions never capture a name.
#ifndef CROSSSIM_SIMD_H
#define CROSSSIM_SIMD_H

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__ELF__)
#define CS_KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CS_KERNEL
#endif

#define LANES 8
#define MIN(a, b) ((a) < (b) ? (a) : (b))

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef double v4d __attribute__((vector_size(32)));

#define V8F_SPLAT(x) ({ const float splat_f_ = (x); (v8f){splat_f_, splat_f_, splat_f_, splat_f_, splat_f_, splat_f_, splat_f_, splat_f_}; })
#define V8I_SPLAT(x) ({ const int32_t splat_i_ = (x); (v8i){splat_i_, splat_i_, splat_i_, splat_i_, splat_i_, splat_i_, splat_i_, splat_i_}; })
#define V8I_IOTA ((v8i){0, 1, 2, 3, 4, 5, 6, 7})
#define V4D_ZERO ((v4d){0, 0, 0, 0})

#define V8F_LOAD(p) ({ v8f load_f_; memcpy(&load_f_, (p), sizeof load_f_); load_f_; })
#define V8I_LOAD(p) ({ v8i load_i_; memcpy(&load_i_, (p), sizeof load_i_); load_i_; })
#define V8I_STORE(p, v) ({ const v8i store_i_ = (v); memcpy((p), &store_i_, sizeof store_i_); })

/// The first n (≤ 8) values at p, the other lanes set to `fill`: tails reuse the vector path.
#define V8F_LOAD_N(p, n, fill) ({                                                   \
    const int64_t loadn_n_ = (n);                                                   \
    v8f loadn_v_ = V8F_SPLAT(fill);                                                 \
    if (loadn_n_ == LANES) memcpy(&loadn_v_, (p), sizeof loadn_v_);                 \
    else memcpy(&loadn_v_, (p), (size_t)loadn_n_ * sizeof(float));                  \
    loadn_v_; })
#define V8I_LOAD_N(p, n, fill) ({                                                   \
    const int64_t loadni_n_ = (n);                                                  \
    v8i loadni_v_ = V8I_SPLAT(fill);                                                \
    if (loadni_n_ == LANES) memcpy(&loadni_v_, (p), sizeof loadni_v_);              \
    else memcpy(&loadni_v_, (p), (size_t)loadni_n_ * sizeof(int32_t));              \
    loadni_v_; })
/// Runs the statements after `cols` once per chunk of eight columns, with `c` the chunk's
/// first column and `n` its width. The body is expanded twice: for full chunks n is the
/// constant 8, so loads are plain vector loads and tail handling folds away; the tail, if any,
/// gets the masked path.
#define FOR_EACH_CHUNK(c, n, cols, ...) do {                                         \
    const int64_t chunk_cols_ = (cols);                                              \
    int64_t c = 0;                                                                   \
    for (; c + LANES <= chunk_cols_; c += LANES) { const int64_t n = LANES; __VA_ARGS__ } \
    if (c < chunk_cols_) { const int64_t n = chunk_cols_ - c; __VA_ARGS__ }          \
} while (0)

/// All lanes below n set.
#define TAIL_MASK(n) (V8I_IOTA < V8I_SPLAT((int32_t)(n)))

#define V8F_SELECT(mask, a, b) ({ const v8i select_m_ = (mask);                      \
    (v8f)(((v8i)(a) & select_m_) | ((v8i)(b) & ~select_m_)); })
#define V8F_MIN(a, b) __builtin_elementwise_min((a), (b))
#define V8F_MAX(a, b) __builtin_elementwise_max((a), (b))
#define V8F_FMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))

#define V8F_LOW_F64(v) __builtin_convertvector(__builtin_shufflevector((v), (v), 0, 1, 2, 3), v4d)
#define V8F_HIGH_F64(v) __builtin_convertvector(__builtin_shufflevector((v), (v), 4, 5, 6, 7), v4d)
/// Adds the eight lanes of a Float32 vector to two binary64 accumulators.
#define ACCUMULATE_F64(lo, hi, v) ({ const v8f acc_v_ = (v); (lo) += V8F_LOW_F64(acc_v_); (hi) += V8F_HIGH_F64(acc_v_); })
#define V4D_PAIR_SUM(lo, hi) ({ const v4d pair_s_ = (lo) + (hi); (pair_s_[0] + pair_s_[1]) + (pair_s_[2] + pair_s_[3]); })

#define V8F_HMAX(v) ({ const v8f hmax_v_ = (v); float hmax_m_ = hmax_v_[0];           \
    for (int hmax_i_ = 1; hmax_i_ < LANES; hmax_i_++)                                \
        hmax_m_ = hmax_v_[hmax_i_] > hmax_m_ ? hmax_v_[hmax_i_] : hmax_m_;            \
    hmax_m_; })
#define V8I_HSUM(v) ({ const v8i hsum_v_ = (v); int64_t hsum_s_ = 0;                  \
    for (int hsum_i_ = 0; hsum_i_ < LANES; hsum_i_++) hsum_s_ += hsum_v_[hsum_i_];    \
    hsum_s_; })

/// e^x for x ≤ 80 within 2 ulp (Cephes' polynomial); results below e^-86 are flushed to zero:
/// every caller sums them against a shifted maximum of 1.
#define V8F_EXP(x) ({                                                                \
    const v8f expc_x_ = (x);                                                         \
    const v8i expc_keep_ = (v8i)(expc_x_ >= V8F_SPLAT(-86.0f));                      \
    (v8f)((v8i)V8F_EXP_IN_RANGE(V8F_MIN(V8F_MAX(expc_x_, V8F_SPLAT(-86.0f)), V8F_SPLAT(80.0f))) & expc_keep_); })

/// e^x for x already known to lie in [−86, 80].
#define V8F_EXP_IN_RANGE(x) ({                                                       \
    const v8f exp_x_ = (x);                                                          \
    const v8f exp_n_ = __builtin_elementwise_roundeven(exp_x_ * V8F_SPLAT(1.44269504088896341f)); \
    v8f exp_r_ = V8F_FMA(exp_n_, V8F_SPLAT(-0.693359375f), exp_x_);                  \
    exp_r_ = V8F_FMA(exp_n_, V8F_SPLAT(2.12194440e-4f), exp_r_);                     \
    v8f exp_p_ = V8F_SPLAT(1.9875691500e-4f);                                        \
    exp_p_ = V8F_FMA(exp_p_, exp_r_, V8F_SPLAT(1.3981999507e-3f));                   \
    exp_p_ = V8F_FMA(exp_p_, exp_r_, V8F_SPLAT(8.3334519073e-3f));                   \
    exp_p_ = V8F_FMA(exp_p_, exp_r_, V8F_SPLAT(4.1665795894e-2f));                   \
    exp_p_ = V8F_FMA(exp_p_, exp_r_, V8F_SPLAT(1.6666665459e-1f));                   \
    exp_p_ = V8F_FMA(exp_p_, exp_r_, V8F_SPLAT(5.0000001201e-1f));                   \
    exp_p_ = V8F_FMA(exp_p_ * exp_r_, exp_r_, exp_r_ + V8F_SPLAT(1.0f));             \
    (v8f)((v8i)exp_p_ + (__builtin_convertvector(exp_n_, v8i) << 23)); })

/// log(1 + u) for 0 ≤ u ≤ 1 without cancellation: 2·atanh(u / (2 + u)) as an odd series.
#define V8F_LOG1P_UNIT(u) ({                                                         \
    const v8f l1p_u_ = (u);                                                          \
    const v8f l1p_r_ = l1p_u_ / (l1p_u_ + V8F_SPLAT(2.0f));                          \
    const v8f l1p_r2_ = l1p_r_ * l1p_r_;                                             \
    v8f l1p_p_ = V8F_SPLAT(1.0f / 15.0f);                                            \
    l1p_p_ = V8F_FMA(l1p_p_, l1p_r2_, V8F_SPLAT(1.0f / 13.0f));                      \
    l1p_p_ = V8F_FMA(l1p_p_, l1p_r2_, V8F_SPLAT(1.0f / 11.0f));                      \
    l1p_p_ = V8F_FMA(l1p_p_, l1p_r2_, V8F_SPLAT(1.0f / 9.0f));                       \
    l1p_p_ = V8F_FMA(l1p_p_, l1p_r2_, V8F_SPLAT(1.0f / 7.0f));                       \
    l1p_p_ = V8F_FMA(l1p_p_, l1p_r2_, V8F_SPLAT(1.0f / 5.0f));                       \
    l1p_p_ = V8F_FMA(l1p_p_, l1p_r2_, V8F_SPLAT(1.0f / 3.0f));                       \
    V8F_SPLAT(2.0f) * V8F_FMA(l1p_p_ * l1p_r2_, l1p_r_, l1p_r_); })

/// softplus(x) = max(x, 0) + log1p(e^−|x|).
#define V8F_SOFTPLUS(x) ({                                                           \
    const v8f sp_x_ = (x);                                                           \
    V8F_MAX(sp_x_, V8F_SPLAT(0.0f)) + V8F_LOG1P_UNIT(V8F_EXP(-__builtin_elementwise_abs(sp_x_))); })

#endif
