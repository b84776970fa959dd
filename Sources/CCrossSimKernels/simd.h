// Vector helpers shared by the kernels, for a width of CS_LANES Float32 lanes (8 by default;
// the AVX-512 build sets 16). They are macros, not functions: a function that takes or
// returns a 256-bit vector cannot be called from the baseline build, while a macro is
// expanded inside each build and compiled with that build's instruction set.
// Each macro's locals carry its own prefix so that nested expansions never capture a name.
#ifndef CROSSSIM_SIMD_H
#define CROSSSIM_SIMD_H

#include <stdint.h>
#include <string.h>

#ifndef CS_LANES
#define CS_LANES 8
#endif
#define LANES CS_LANES

#define MIN(a, b) ((a) < (b) ? (a) : (b))

typedef float vf __attribute__((vector_size(4 * LANES)));
typedef int32_t vi __attribute__((vector_size(4 * LANES)));
/// Half a vf's lanes in binary64.
typedef double vd __attribute__((vector_size(4 * LANES)));

/// x in every lane. x − (+0) is x for every x (−0 included), so this is a broadcast alone;
/// x + 0 would turn −0 into +0 and cost an addition per splat of a variable.
#define VF_SPLAT(x) ((float)(x) - (vf){})
#define VI_SPLAT(x) ((vi){} + (int32_t)(x))
#define VD_ZERO ((vd){})
#if LANES == 16
#define VI_IOTA ((vi){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
#define VF_LOW_F64(v) __builtin_convertvector(__builtin_shufflevector((v), (v), 0, 1, 2, 3, 4, 5, 6, 7), vd)
#define VF_HIGH_F64(v) __builtin_convertvector(__builtin_shufflevector((v), (v), 8, 9, 10, 11, 12, 13, 14, 15), vd)
#else
#define VI_IOTA ((vi){0, 1, 2, 3, 4, 5, 6, 7})
#define VF_LOW_F64(v) __builtin_convertvector(__builtin_shufflevector((v), (v), 0, 1, 2, 3), vd)
#define VF_HIGH_F64(v) __builtin_convertvector(__builtin_shufflevector((v), (v), 4, 5, 6, 7), vd)
#endif

#define VF_LOAD(p) ({ vf load_f_; memcpy(&load_f_, (p), sizeof load_f_); load_f_; })
#define VI_LOAD(p) ({ vi load_i_; memcpy(&load_i_, (p), sizeof load_i_); load_i_; })
#define VI_STORE(p, v) ({ const vi store_i_ = (v); memcpy((p), &store_i_, sizeof store_i_); })

/// The first n (≤ LANES) values at p, the other lanes set to `fill`: tails reuse the vector path.
#define VF_LOAD_N(p, n, fill) ({                                                   \
    const int64_t loadn_n_ = (n);                                                   \
    vf loadn_v_ = VF_SPLAT(fill);                                                 \
    if (loadn_n_ == LANES) memcpy(&loadn_v_, (p), sizeof loadn_v_);                 \
    else memcpy(&loadn_v_, (p), (size_t)loadn_n_ * sizeof(float));                  \
    loadn_v_; })
#define VI_LOAD_N(p, n, fill) ({                                                   \
    const int64_t loadni_n_ = (n);                                                  \
    vi loadni_v_ = VI_SPLAT(fill);                                                \
    if (loadni_n_ == LANES) memcpy(&loadni_v_, (p), sizeof loadni_v_);              \
    else memcpy(&loadni_v_, (p), (size_t)loadni_n_ * sizeof(int32_t));              \
    loadni_v_; })
/// Runs the statements after `cols` once per chunk of LANES columns, with `c` the chunk's
/// first column and `n` its width. The body is expanded twice: for full chunks n is the
/// constant LANES, so loads are plain vector loads and tail handling folds away; the tail, if any,
/// gets the masked path.
#define FOR_EACH_CHUNK(c, n, cols, ...) do {                                         \
    const int64_t chunk_cols_ = (cols);                                              \
    int64_t c = 0;                                                                   \
    for (; c + LANES <= chunk_cols_; c += LANES) { const int64_t n = LANES; __VA_ARGS__ } \
    if (c < chunk_cols_) { const int64_t n = chunk_cols_ - c; __VA_ARGS__ }          \
} while (0)

/// The lanes of a mask as the bits of an integer, lane l at bit l (one kmov or movmsk).
#if LANES == 16
typedef _Bool vb __attribute__((ext_vector_type(16)));
typedef uint16_t mask_bits;
#else
typedef _Bool vb __attribute__((ext_vector_type(8)));
typedef uint8_t mask_bits;
#endif
#define VI_BITS(mask) ({ const vb bits_b_ = __builtin_convertvector((mask) != 0, vb); mask_bits bits_m_;  \
    memcpy(&bits_m_, &bits_b_, sizeof bits_m_); (uint32_t)bits_m_; })

/// All lanes below n set.
#define TAIL_MASK(n) (VI_IOTA < VI_SPLAT((int32_t)(n)))

#define VF_SELECT(mask, a, b) ({ const vi select_m_ = (mask);                      \
    (vf)(((vi)(a) & select_m_) | ((vi)(b) & ~select_m_)); })
#define VF_MIN(a, b) __builtin_elementwise_min((a), (b))
#define VF_MAX(a, b) __builtin_elementwise_max((a), (b))
/// a·b + c: one rounding where the level has FMA; the baseline has no FMA instruction and would
/// call a library function per lane, so it rounds twice (every caller allows it).
#ifdef CS_AVX2_OR_WIDER
#define VF_FMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#else
#define VF_FMA(a, b, c) ((a) * (b) + (c))
#endif

/// Adds the lanes of a Float32 vector to two binary64 accumulators.
#define ACCUMULATE_F64(lo, hi, v) ({ const vf acc_v_ = (v); (lo) += VF_LOW_F64(acc_v_); (hi) += VF_HIGH_F64(acc_v_); })
/// Adds the lanes of x where `keep` is set to Σ s (sum_lo, sum_hi) and their squares to Σ s²
/// (squares_lo, squares_hi), in binary64: dot similarities may reach 1e37, and the spread of a
/// collapsed set's negatives is a difference of these sums.
#define ACCUMULATE_MOMENTS_F64(sum_lo, sum_hi, squares_lo, squares_hi, keep, x) ({          \
    const vf mom_kept_ = VF_SELECT((keep), (x), VF_SPLAT(0.0f));                           \
    const vd mom_low_ = VF_LOW_F64(mom_kept_), mom_high_ = VF_HIGH_F64(mom_kept_);         \
    (sum_lo) += mom_low_;                                                                   \
    (sum_hi) += mom_high_;                                                                  \
    (squares_lo) += mom_low_ * mom_low_;                                                    \
    (squares_hi) += mom_high_ * mom_high_; })
#define VD_PAIR_SUM(lo, hi) ({ const vd pair_s_ = (lo) + (hi); double pair_t_ = 0;   \
    for (int pair_i_ = 0; pair_i_ < LANES / 2; pair_i_++) pair_t_ += pair_s_[pair_i_]; \
    pair_t_; })

#define VF_HMAX(v) ({ const vf hmax_v_ = (v); float hmax_m_ = hmax_v_[0];           \
    for (int hmax_i_ = 1; hmax_i_ < LANES; hmax_i_++)                                \
        hmax_m_ = hmax_v_[hmax_i_] > hmax_m_ ? hmax_v_[hmax_i_] : hmax_m_;            \
    hmax_m_; })
#define VI_HSUM(v) ({ const vi hsum_v_ = (v); int64_t hsum_s_ = 0;                  \
    for (int hsum_i_ = 0; hsum_i_ < LANES; hsum_i_++) hsum_s_ += hsum_v_[hsum_i_];    \
    hsum_s_; })

/// e^x for x ≤ 80 within 2 ulp (Cephes' polynomial); results below e^-86 are flushed to zero:
/// every caller sums them against a shifted maximum of 1.
#define VF_EXP(x) ({                                                                \
    const vf expc_x_ = (x);                                                         \
    const vi expc_keep_ = (vi)(expc_x_ >= VF_SPLAT(-86.0f));                      \
    (vf)((vi)VF_EXP_IN_RANGE(VF_MIN(VF_MAX(expc_x_, VF_SPLAT(-86.0f)), VF_SPLAT(80.0f))) & expc_keep_); })

/// Rounds to the nearest integer, ties to even. The baseline has no rounding instruction
/// (SSE4.1's) and would call a library function per lane: adding and subtracting 1.5·2²³
/// rounds the same way for |x| < 2²² (every caller's range).
#ifdef CS_AVX2_OR_WIDER
#define VF_ROUND(x) __builtin_elementwise_roundeven(x)
#else
#define VF_ROUND(x) ({ const vf round_x_ = (x); (round_x_ + VF_SPLAT(12582912.0f)) - VF_SPLAT(12582912.0f); })
#endif

/// e^x for x already known to lie in [−86, 80].
#define VF_EXP_IN_RANGE(x) ({                                                       \
    const vf exp_x_ = (x);                                                          \
    const vf exp_n_ = VF_ROUND(exp_x_ * VF_SPLAT(1.44269504088896341f));                      \
    vf exp_r_ = VF_FMA(exp_n_, VF_SPLAT(-0.693359375f), exp_x_);                  \
    exp_r_ = VF_FMA(exp_n_, VF_SPLAT(2.12194440e-4f), exp_r_);                     \
    vf exp_p_ = VF_SPLAT(1.9875691500e-4f);                                        \
    exp_p_ = VF_FMA(exp_p_, exp_r_, VF_SPLAT(1.3981999507e-3f));                   \
    exp_p_ = VF_FMA(exp_p_, exp_r_, VF_SPLAT(8.3334519073e-3f));                   \
    exp_p_ = VF_FMA(exp_p_, exp_r_, VF_SPLAT(4.1665795894e-2f));                   \
    exp_p_ = VF_FMA(exp_p_, exp_r_, VF_SPLAT(1.6666665459e-1f));                   \
    exp_p_ = VF_FMA(exp_p_, exp_r_, VF_SPLAT(5.0000001201e-1f));                   \
    exp_p_ = VF_FMA(exp_p_ * exp_r_, exp_r_, exp_r_ + VF_SPLAT(1.0f));             \
    VF_TIMES_POWER_OF_TWO(exp_p_, exp_n_); })

/// p·2ⁿ for integral n with the result a normal number: one vscalefps with AVX-512, else an
/// add to the exponent field.
#if LANES == 16 && defined(__x86_64__)
#include <immintrin.h>
#define VF_TIMES_POWER_OF_TWO(p, n) ((vf)_mm512_scalef_ps((__m512)(p), (__m512)(n)))
#else
#define VF_TIMES_POWER_OF_TWO(p, n) ((vf)((vi)(p) + (__builtin_convertvector((n), vi) << 23)))
#endif

/// 1/d: AVX-512's 14-bit estimate refined by one Newton step (to within 2 ulp) where the
/// sixteen-lane build has it, a division elsewhere.
#if LANES == 16 && defined(__x86_64__)
#include <immintrin.h>
#define VF_RECIPROCAL(d) ({                                                          \
    const vf rcp_d_ = (d);                                                           \
    const vf rcp_y_ = (vf)_mm512_rcp14_ps((__m512)rcp_d_);                           \
    rcp_y_ * (VF_SPLAT(2.0f) - rcp_d_ * rcp_y_); })
#else
#define VF_RECIPROCAL(d) (VF_SPLAT(1.0f) / (d))
#endif

/// log(1 + u) for 0 ≤ u ≤ 1 as u + u²·q(u), q a degree-8 polynomial (a near-minimax fit of
/// (log1p(u) − u)/u² in relative error): no division, unlike 2·atanh(u/(2 + u)). Against
/// binary64 over 2·10⁵ Float32 u spread over (0, 1]: within 1.5 ulp.
#define VF_LOG1P_UNIT(u) ({                                                         \
    const vf l1p_u_ = (u);                                                          \
    vf l1p_q_ = VF_SPLAT(-0.0033191426191478968f);                                  \
    l1p_q_ = VF_FMA(l1p_q_, l1p_u_, VF_SPLAT(0.020207254216074944f));              \
    l1p_q_ = VF_FMA(l1p_q_, l1p_u_, VF_SPLAT(-0.0576687753200531f));               \
    l1p_q_ = VF_FMA(l1p_q_, l1p_u_, VF_SPLAT(0.10680922120809555f));               \
    l1p_q_ = VF_FMA(l1p_q_, l1p_u_, VF_SPLAT(-0.15355567634105682f));              \
    l1p_q_ = VF_FMA(l1p_q_, l1p_u_, VF_SPLAT(0.19695444405078888f));               \
    l1p_q_ = VF_FMA(l1p_q_, l1p_u_, VF_SPLAT(-0.24958592653274536f));              \
    l1p_q_ = VF_FMA(l1p_q_, l1p_u_, VF_SPLAT(0.33330512046813965f));               \
    l1p_q_ = VF_FMA(l1p_q_, l1p_u_, VF_SPLAT(-0.4999993145465851f));               \
    VF_FMA(l1p_u_ * l1p_u_, l1p_q_, l1p_u_); })

/// log(1 + u) for 0 ≤ u ≤ 2⁻⁶ by its series to u⁴: the terms left out are below u⁵/5, a
/// fifth of 2⁻²⁴ relative.
#define VF_LOG1P_SMALL(u) ({                                                        \
    const vf l1ps_u_ = (u);                                                         \
    const vf l1ps_q_ = VF_FMA(VF_FMA(l1ps_u_, VF_SPLAT(-0.25f), VF_SPLAT(1.0f / 3.0f)), l1ps_u_, VF_SPLAT(-0.5f)); \
    VF_FMA(l1ps_u_ * l1ps_u_, l1ps_q_, l1ps_u_); })

/// e^x for x in [−86, 80] by softplus alone, cheaper than VF_EXP_IN_RANGE (whose bits the
/// log-sum-exps keep): n = round(x/ln 2) by adding 1.5·2²³ (the sum's low bits are n, so no
/// conversion), and e^r for |r| ≤ ln 2/2 by a degree-6 polynomial (a minimax fit in relative
/// error, 3e-9, against Cephes' degree 7).
#define VF_EXP_SOFTPLUS(x) ({                                                       \
    const vf spe_x_ = (x);                                                          \
    const vf spe_t_ = VF_FMA(spe_x_, VF_SPLAT(1.44269504088896341f), VF_SPLAT(12582912.0f)); \
    const vf spe_n_ = spe_t_ - VF_SPLAT(12582912.0f);                               \
    vf spe_r_ = VF_FMA(spe_n_, VF_SPLAT(-0.693359375f), spe_x_);                    \
    spe_r_ = VF_FMA(spe_n_, VF_SPLAT(2.12194440e-4f), spe_r_);                      \
    vf spe_p_ = VF_SPLAT(0.00138145406f);                                           \
    spe_p_ = VF_FMA(spe_p_, spe_r_, VF_SPLAT(0.00836874545f));                      \
    spe_p_ = VF_FMA(spe_p_, spe_r_, VF_SPLAT(0.041668389f));                        \
    spe_p_ = VF_FMA(spe_p_, spe_r_, VF_SPLAT(0.166665211f));                        \
    spe_p_ = VF_FMA(spe_p_, spe_r_, VF_SPLAT(0.49999994f));                         \
    spe_p_ = VF_FMA(spe_p_, spe_r_, VF_SPLAT(1.0f));                                \
    spe_p_ = VF_FMA(spe_p_, spe_r_, VF_SPLAT(1.0f));                                \
    VF_TIMES_TWO_TO_SHIFTED(spe_p_, spe_n_, spe_t_); })

/// p·2ⁿ where t = n + 1.5·2²³ holds n in its low bits: one vscalefps with AVX-512, else t's
/// bits shifted into the exponent field (the constant's own bits shift out).
#if LANES == 16 && defined(__x86_64__)
#define VF_TIMES_TWO_TO_SHIFTED(p, n, t) VF_TIMES_POWER_OF_TWO(p, n)
#else
#define VF_TIMES_TWO_TO_SHIFTED(p, n, t) ((vf)((vi)(p) + ((vi)(t) << 23)))
#endif

/// softplus(x) = max(x, 0) + log1p(e^−|x|): one exp and a division-free log1p. Where every
/// lane has x ≤ −ln 64 (e^x ≤ 2⁻⁶: SigLIP's negatives, mostly) the log1p is its short
/// series and max(x, 0) is 0. Below −86 the exponential is held at e^−86 (still a normal
/// number) rather than flushed: log1p then adds 4e-38 where it would add less. Against
/// binary64 softplus of the same Float32 x over every second Float32 in [−86, 128]: within
/// 2.4 ulp with FMA, 2.7 without (the series path 1.5 and 1.6; with VF_EXP_IN_RANGE's
/// exponential 2.5, 2.7 and 1.8; the atanh form with its division was within 4.1).
/// SmallDimensionKernelTests holds it to 2.5 ulp over every 997th and on to ±1e30.
#define SOFTPLUS_SERIES_BELOW (-4.15888309f)
#define VF_SOFTPLUS(x) ({                                                           \
    const vf sp_x_ = (x);                                                           \
    VI_BITS(sp_x_ > VF_SPLAT(SOFTPLUS_SERIES_BELOW)) == 0                           \
        ? VF_LOG1P_SMALL(VF_EXP_SOFTPLUS(VF_MAX(sp_x_, VF_SPLAT(-86.0f))))          \
        : VF_MAX(sp_x_, VF_SPLAT(0.0f)) +                                           \
              VF_LOG1P_UNIT(VF_EXP_SOFTPLUS(VF_MAX(-__builtin_elementwise_abs(sp_x_), VF_SPLAT(-86.0f)))); })

#endif
