// The tile epilogue: each function reads one tile of S once and folds it into its reducer.
// Tails narrower than a vector reuse the vector path with neutral fill values.
//
// This file is compiled twice: on its own, eight lanes wide (cloned for AVX2 and the
// baseline), and from epilogue_avx512.c, sixteen lanes wide with AVX-512, as `NAME_wide`.
// On a machine with AVX-512 the eight-lane kernels hand each call to their wide twin.
#include "CrossSimKernels.h"
#include "simd.h"
#include <math.h>

#if defined(CS_WIDE_BUILD) || !defined(__x86_64__)
#define CS_NAME(name) name##_wide
#define CS_HAND_TO_WIDE(name, ...)
#define CS_HAND_TO_WIDE_VOID(name, ...)
#else
#define CS_HAND_TO_WIDE(name, ...) if (cs_cpu_vector_level() == 2) return name##_wide(__VA_ARGS__)
#define CS_HAND_TO_WIDE_VOID(name, ...) if (cs_cpu_vector_level() == 2) { name##_wide(__VA_ARGS__); return; }
#endif
#ifndef CS_WIDE_BUILD
#undef CS_NAME
#define CS_NAME(name) name
double cs_count_ranks_wide(cs_tile, const int32_t *, const float *, const float *, const int32_t *, int32_t *, int32_t *);
void cs_lse_fixed_shift_wide(cs_tile, const int32_t *, float, double *, double *, float *);
void cs_lse_online_wide(cs_tile, const int32_t *, double, double *, double *, double *, double *, float *, double *, float *);
double cs_softplus_sum_wide(cs_tile, float, float);
void cs_uniformity_wide(cs_tile, const float *, const float *, double *, double *);
#endif

/// Float32 terms are widened to binary64 a block at a time, not one vector at a time: a row's
/// terms gather in a Float32 vector over BLOCK chunks, a column's in Float32 over BLOCK rows,
/// so no Float32 partial sum holds more than BLOCK terms (rounding below BLOCK·2⁻²⁴ ≈ 5e-7
/// relative, far inside SPEC's 1e-5 for losses) while the conversions cost 1/BLOCK as much.
#define BLOCK 8

/// A row's running sum of vectors: the open block in Float32, closed blocks in binary64.
typedef struct { vf part; vd lo, hi; int terms; } block_sum;
#define BLOCK_SUM_ZERO ((block_sum){VF_SPLAT(0.0f), VD_ZERO, VD_ZERO, 0})
#define BLOCK_SUM_ADD(acc, v) ({                                                          \
    block_sum *rsa_ = &(acc);                                                           \
    rsa_->part += (v);                                                                \
    if (++rsa_->terms == BLOCK) {                                                     \
        ACCUMULATE_F64(rsa_->lo, rsa_->hi, rsa_->part);                               \
        rsa_->part = VF_SPLAT(0.0f);                                                  \
        rsa_->terms = 0;                                                              \
    } })
#define BLOCK_SUM_TOTAL(acc) ({ block_sum rst_ = (acc); ACCUMULATE_F64(rst_.lo, rst_.hi, rst_.part); VD_PAIR_SUM(rst_.lo, rst_.hi); })

/// Adds the first n lanes of e to col_sum[0 ..< n] in binary64.
#define ADD_TO_COLUMNS(col_sum, e, n) ({                                             \
    double *atc_sum_ = (col_sum);                                                    \
    const vf atc_e_ = (e);                                                          \
    const int64_t atc_n_ = (n);                                                      \
    if (atc_n_ == LANES) {                                                           \
        vd atc_lo_, atc_hi_;                                                        \
        memcpy(&atc_lo_, atc_sum_, sizeof atc_lo_);                                  \
        memcpy(&atc_hi_, atc_sum_ + LANES / 2, sizeof atc_hi_);                              \
        ACCUMULATE_F64(atc_lo_, atc_hi_, atc_e_);                                    \
        memcpy(atc_sum_, &atc_lo_, sizeof atc_lo_);                                  \
        memcpy(atc_sum_ + LANES / 2, &atc_hi_, sizeof atc_hi_);                              \
    } else {                                                                         \
        for (int64_t atc_l_ = 0; atc_l_ < atc_n_; atc_l_++) atc_sum_[atc_l_] += (double)atc_e_[atc_l_]; \
    } })

/// Adds e to the open Float32 block of columns part[0 ..< n].
#define ADD_TO_PART(part, e, n) ({                                                   \
    float *atp_ = (part);                                                           \
    const vf atp_v_ = VF_LOAD_N(atp_, n, 0.0f) + (e);                               \
    memcpy(atp_, &atp_v_, (size_t)(n) * sizeof(float)); })

/// Closes the columns' Float32 block: adds part[0 ..< cols] to col_sum and clears it.
#define CLOSE_COLUMN_BLOCK(col_sum, part, cols) ({                                    \
    FOR_EACH_CHUNK(ccb_c_, ccb_n_, cols,                                             \
        ADD_TO_COLUMNS((col_sum) + ccb_c_, VF_LOAD_N((part) + ccb_c_, ccb_n_, 0.0f), ccb_n_);); \
    memset((part), 0, (size_t)(cols) * sizeof(float)); })

/// Expands a kernel body twice, with `name` a null pointer and with `name` = `pointer`, so
/// that each copy is compiled with the tests of `name` folded away.
#define WITH_AND_WITHOUT(pointer, name, ...) do {                                     \
    if ((pointer) == NULL) { const __typeof__(pointer) name = NULL; (void)name; __VA_ARGS__ } \
    else { const __typeof__(pointer) name = (pointer); __VA_ARGS__ }                \
} while (0)

/// Similarities closer than this (relative to the larger of 1 and |s|) rank as equal, the
/// lower index first. The tiles' Float32 sgemm and the positives' binary64 dot products can
/// differ in the last bits; without it an exact duplicate of a positive would beat it or not
/// by rounding noise. SPEC §3 leaves ranks free where similarities differ by less than 1e-6.
#define TIE_WIDTH 4e-7f

static inline float tie_width(float best) {
    return isfinite(best) ? TIE_WIDTH * fmaxf(1.0f, fabsf(best)) : 0.0f;  // +∞: no positive
}

/// Tiles are read two rows at a time, so that each column's state is loaded and stored once
/// per pair. A lone last row goes with a copy of itself whose contributions are masked off.
#define ROW_PAIR(t, r, valid_second) \
    const float *s_rows[2] = {(t).data + (r) * (t).ld, (t).data + MIN((r) + 1, (t).rows - 1) * (t).ld}; \
    const vi valid_second = VI_SPLAT((r) + 1 < (t).rows ? -1 : 0)

CS_KERNEL double CS_NAME(cs_count_ranks)(cs_tile t, const int32_t *positive_of_col,
                                const float *positive_sim_of_col, const float *best_sim_of_row,
                                const int32_t *best_col_of_row, int32_t *row_beaten,
                                int32_t *col_beaten) {
    CS_HAND_TO_WIDE(cs_count_ranks, t, positive_of_col, positive_sim_of_col, best_sim_of_row, best_col_of_row,
                    row_beaten, col_beaten);
    double squares = 0;
    for (int64_t r = 0; r < t.rows; r += 2) {
        ROW_PAIR(t, r, second);
        const int64_t q1 = MIN(r + 1, t.rows - 1);
        const vi valid[2] = {VI_SPLAT(-1), second};
        const int32_t i[2] = {(int32_t)(t.row0 + r), (int32_t)(t.row0 + q1)};
        const vi row[2] = {VI_SPLAT(i[0]), VI_SPLAT(i[1])};
        // A cell beats the row's best when above best + near, or within ±near of it at a lower
        // column (the tie rule). A row without positive has best = +∞: nothing beats it.
        const vf best_hi[2] = {VF_SPLAT(best_sim_of_row[r] + tie_width(best_sim_of_row[r])),
                               VF_SPLAT(best_sim_of_row[q1] + tie_width(best_sim_of_row[q1]))};
        const vf best_lo[2] = {VF_SPLAT(best_sim_of_row[r] - tie_width(best_sim_of_row[r])),
                               VF_SPLAT(best_sim_of_row[q1] - tie_width(best_sim_of_row[q1]))};
        const vi best_col[2] = {VI_SPLAT(best_col_of_row[r]), VI_SPLAT(best_col_of_row[q1])};
        vi row_count[2] = {VI_SPLAT(0), VI_SPLAT(0)};
        vd lo = VD_ZERO, hi = VD_ZERO;
        FOR_EACH_CHUNK(c, n, t.cols,
            const vi owner = VI_LOAD_N(positive_of_col + c, n, 0);
            const vf owner_sim = VF_LOAD_N(positive_sim_of_col + c, n, 0.0f);
            const vf owner_near = VF_MAX(__builtin_elementwise_abs(owner_sim), VF_SPLAT(1.0f)) * VF_SPLAT(TIE_WIDTH);
            const vf owner_hi = owner_sim + owner_near, owner_lo = owner_sim - owner_near;
            const vi j = VI_SPLAT((int32_t)(t.col0 + c)) + VI_IOTA;
            vi col_hits = VI_SPLAT(0);
            for (int q = 0; q < 2; q++) {
                const vf s = VF_LOAD_N(s_rows[q] + c, n, 0.0f);
                const vi negative = (owner != row[q]) & valid[q] & TAIL_MASK(n);
                row_count[q] -= negative & ((s > best_hi[q]) | ((s >= best_lo[q]) & (j < best_col[q])));
                col_hits -= negative & ((s > owner_hi) | ((s >= owner_lo) & (row[q] < owner)));
                // Dot similarities may reach 1e37, so their squares are summed in binary64.
                const vf kept = VF_SELECT(valid[q], s, VF_SPLAT(0.0f));
                const vd a = VF_LOW_F64(kept), b = VF_HIGH_F64(kept);
                lo += a * a;
                hi += b * b;
            }
            if (n == LANES) {
                VI_STORE(col_beaten + c, VI_LOAD(col_beaten + c) + col_hits);
            } else {
                for (int64_t l = 0; l < n; l++) col_beaten[c + l] += col_hits[l];
            }
        );
        row_beaten[r] += (int32_t)VI_HSUM(row_count[0]);
        if (r + 1 < t.rows) row_beaten[r + 1] += (int32_t)VI_HSUM(row_count[1]);
        squares += VD_PAIR_SUM(lo, hi);
    }
    return squares;
}


/// The tile's values of row r with positive cells (and tail lanes) set to −∞, so that sums of
/// exponentials see only negatives. Tiles that hold no positive (most of them) pass no owners
/// and skip the mask.
#define NEGATIVES_ONLY(s_row, c, n, row, positive_of_col) ({                         \
    const int32_t *no_owners_ = (positive_of_col);                                   \
    no_owners_ == NULL ? VF_LOAD_N((s_row) + (c), n, -INFINITY)                     \
        : VF_SELECT(VI_LOAD_N(no_owners_ + (c), n, (row)[0]) != (row),             \
                     VF_LOAD_N((s_row) + (c), n, 0.0f), VF_SPLAT(-INFINITY)); })


CS_KERNEL void CS_NAME(cs_lse_fixed_shift)(cs_tile t, const int32_t *positive_of_col, float scale,
                                  double *row_sum, double *col_sum, float *column_part) {
    CS_HAND_TO_WIDE_VOID(cs_lse_fixed_shift, t, positive_of_col, scale, row_sum, col_sum, column_part);
    const vf k = VF_SPLAT(scale);
    memset(column_part, 0, (size_t)t.cols * sizeof(float));
    WITH_AND_WITHOUT(positive_of_col, owners,
    for (int64_t r = 0; r < t.rows; r++) {
        const float *s_row = t.data + r * t.ld;
        const vi row = VI_SPLAT((int32_t)(t.row0 + r));
        block_sum sum = BLOCK_SUM_ZERO;
        FOR_EACH_CHUNK(c, n, t.cols,
            // (s − 1)·scale rounded once, so the largest terms keep their full precision; with
            // −1 ≤ s ≤ 1 and scale ≤ 40 the argument needs no clamping. Positives and tail
            // lanes are masked after the exp.
            vf e = VF_EXP_IN_RANGE(VF_FMA(VF_LOAD_N(s_row + c, n, 0.0f), k, -k));
            if (owners) e = VF_SELECT(VI_LOAD_N(owners + c, n, 0) != row, e, VF_SPLAT(0.0f));
            if (n < LANES) e = VF_SELECT(TAIL_MASK(n), e, VF_SPLAT(0.0f));
            BLOCK_SUM_ADD(sum, e);
            ADD_TO_PART(column_part + c, e, n);
        );
        row_sum[r] += BLOCK_SUM_TOTAL(sum);
        if (r % BLOCK == BLOCK - 1 || r + 1 == t.rows) CLOSE_COLUMN_BLOCK(col_sum, column_part, t.cols);
    });
}

/// (max, sum) ⊕ (m, s) for log-sum-exp pairs.
static inline void fold_lse(double *max, double *sum, double m, double s) {
    if (s == 0) return;  // nothing seen (every cell a positive): m may be −∞
    if (m <= *max) {
        *sum += s * exp(m - *max);
    } else {
        *sum = *sum * exp(*max - m) + s;
        *max = m;
    }
}

CS_KERNEL void CS_NAME(cs_lse_online)(cs_tile t, const int32_t *positive_of_col, double scale,
                             double *row_max, double *row_sum, double *col_max, double *col_sum,
                             float *col_max_scratch, double *col_sum_scratch, float *column_part) {
    CS_HAND_TO_WIDE_VOID(cs_lse_online, t, positive_of_col, scale, row_max, row_sum, col_max, col_sum,
                         col_max_scratch, col_sum_scratch, column_part);
    const vf k = VF_SPLAT((float)scale);
    for (int64_t c = 0; c < t.cols; c++) { col_max_scratch[c] = -INFINITY; col_sum_scratch[c] = 0; column_part[c] = 0; }
    WITH_AND_WITHOUT(positive_of_col, owners,
    for (int64_t r = 0; r < t.rows; r++) {
        const float *s_row = t.data + r * t.ld;
        const vi row = VI_SPLAT((int32_t)(t.row0 + r));
        FOR_EACH_CHUNK(c, n, t.cols,
            const vf m = VF_MAX(VF_LOAD_N(col_max_scratch + c, n, -INFINITY),
                                  NEGATIVES_ONLY(s_row, c, n, row, owners));
            memcpy(col_max_scratch + c, &m, (size_t)n * sizeof(float));
        );
    }
    for (int64_t r = 0; r < t.rows; r++) {
        const float *s_row = t.data + r * t.ld;
        const vi row = VI_SPLAT((int32_t)(t.row0 + r));
        vf m = VF_SPLAT(-INFINITY);
        FOR_EACH_CHUNK(c, n, t.cols, m = VF_MAX(m, NEGATIVES_ONLY(s_row, c, n, row, owners)););
        const float row_top = VF_HMAX(m);
        const vf top = VF_SPLAT(row_top);
        block_sum sum = BLOCK_SUM_ZERO;
        FOR_EACH_CHUNK(c, n, t.cols,
            const vf s = NEGATIVES_ONLY(s_row, c, n, row, owners);
            // (s − max)·scale, not s·scale − max·scale: the largest terms stay exact. Masked
            // cells give −∞ − max (or NaN against an all-masked max), which VF_EXP makes 0.
            BLOCK_SUM_ADD(sum, VF_EXP((s - top) * k));
            const vf col_top = VF_LOAD_N(col_max_scratch + c, n, 0.0f);
            ADD_TO_PART(column_part + c, VF_EXP((s - col_top) * k), n);
        );
        fold_lse(row_max + r, row_sum + r, (double)row_top * scale, BLOCK_SUM_TOTAL(sum));
        if (r % BLOCK == BLOCK - 1 || r + 1 == t.rows) CLOSE_COLUMN_BLOCK(col_sum_scratch, column_part, t.cols);
    });
    for (int64_t c = 0; c < t.cols; c++)
        fold_lse(col_max + c, col_sum + c, (double)col_max_scratch[c] * scale, col_sum_scratch[c]);
}

CS_KERNEL double CS_NAME(cs_softplus_sum)(cs_tile t, float scale, float bias) {
    CS_HAND_TO_WIDE(cs_softplus_sum, t, scale, bias);
    const vf k = VF_SPLAT(scale), b = VF_SPLAT(bias);
    double total = 0;
    for (int64_t r = 0; r < t.rows; r++) {
        const float *s_row = t.data + r * t.ld;
        block_sum sum = BLOCK_SUM_ZERO;
        FOR_EACH_CHUNK(c, n, t.cols,
            vf terms = VF_SOFTPLUS(VF_FMA(VF_LOAD_N(s_row + c, n, 0.0f), k, b));
            if (n < LANES) terms = VF_SELECT(TAIL_MASK(n), terms, VF_SPLAT(0.0f));
            BLOCK_SUM_ADD(sum, terms);
        );
        total += BLOCK_SUM_TOTAL(sum);
    }
    return total;
}

#ifndef CS_WIDE_BUILD
void cs_histogram(cs_tile t, const int32_t *positive_of_col, float lo, float hi, int64_t bins,
                  uint64_t *negative, uint64_t *positive) {
    const float per_unit = (float)bins / (hi - lo);
    for (int64_t r = 0; r < t.rows; r++) {
        const float *s_row = t.data + r * t.ld;
        const int32_t i = (int32_t)(t.row0 + r);
        for (int64_t c = 0; c < t.cols; c++) {
            const float position = (s_row[c] - lo) * per_unit;
            const int64_t bin = position <= 0 ? 0 : MIN((int64_t)position, bins - 1);
            (positive_of_col[c] == i ? positive : negative)[bin] += 1;
        }
    }
}

static inline int better(float a, int32_t ia, float b, int32_t ib) {
    return a > b || (a == b && ia < ib);
}

/// Inserts (score, index) into a best-first list of k if it beats the last entry.
static inline void offer(float *scores, int32_t *indices, int64_t k, float score, int32_t index) {
    if (!better(score, index, scores[k - 1], indices[k - 1])) return;
    int64_t p = k - 1;
    while (p > 0 && better(score, index, scores[p - 1], indices[p - 1])) {
        scores[p] = scores[p - 1];
        indices[p] = indices[p - 1];
        p--;
    }
    scores[p] = score;
    indices[p] = index;
}

CS_KERNEL void cs_topk_rows(cs_tile t, int64_t k, float *scores, int32_t *indices) {
    for (int64_t r = 0; r < t.rows; r++) {
        const float *s_row = t.data + r * t.ld;
        float *row_scores = scores + r * k;
        int32_t *row_indices = indices + r * k;
        FOR_EACH_CHUNK(c, n, t.cols,
            const vi hit = VF_LOAD_N(s_row + c, n, -INFINITY) >= VF_SPLAT(row_scores[k - 1]);
            if (VI_HSUM(hit) != 0) {
                for (int64_t l = 0; l < n; l++)
                    offer(row_scores, row_indices, k, s_row[c + l], (int32_t)(t.col0 + c + l));
            }
        );
    }
}

void cs_topk_cols(cs_tile t, int64_t k, float *scores, int32_t *indices) {
    for (int64_t r = 0; r < t.rows; r++) {
        const float *s_row = t.data + r * t.ld;
        const int32_t i = (int32_t)(t.row0 + r);
        for (int64_t c = 0; c < t.cols; c++) {
            if (s_row[c] < scores[c * k + k - 1]) continue;
            offer(scores + c * k, indices + c * k, k, s_row[c], i);
        }
    }
}

#endif

CS_KERNEL void CS_NAME(cs_uniformity)(cs_tile t, const float *squared_norm_rows,
                             const float *squared_norm_cols, double *max, double *sum) {
    CS_HAND_TO_WIDE_VOID(cs_uniformity, t, squared_norm_rows, squared_norm_cols, max, sum);
    // u = −2‖a − b‖² = 4s − 2‖a‖² − 2‖b‖²; the diagonal (a row with itself) is left out.
    // Pass 0 finds the tile's largest u, pass 1 sums e^(u − largest).
    float top = -INFINITY;
    double total = 0;
    for (int pass = 0; pass < 2; pass++) {
        const vf shift = VF_SPLAT(top);
        vf m = VF_SPLAT(-INFINITY);
        for (int64_t r = 0; r < t.rows; r++) {
            const float *s_row = t.data + r * t.ld;
            const vf a = VF_SPLAT(squared_norm_rows[r]);
            const vi row = VI_SPLAT((int32_t)(t.row0 + r));
            vd lo = VD_ZERO, hi = VD_ZERO;
            FOR_EACH_CHUNK(c, n, t.cols,
                const vf b = VF_LOAD_N(squared_norm_cols + c, n, 0.0f);
                const vf s = VF_LOAD_N(s_row + c, n, 0.0f);
                const vi j = VI_SPLAT((int32_t)(t.col0 + c)) + VI_IOTA;
                const vf u = VF_SELECT(TAIL_MASK(n) & (j != row),
                                         VF_SPLAT(4.0f) * s - VF_SPLAT(2.0f) * (a + b),
                                         VF_SPLAT(-INFINITY));
                if (pass == 0) m = VF_MAX(m, u);
                else ACCUMULATE_F64(lo, hi, VF_EXP(u - shift));
            );
            total += VD_PAIR_SUM(lo, hi);
        }
        if (pass == 0) top = VF_HMAX(m);
        if (top == -INFINITY) return;  // a tile holding only diagonal cells
    }
    fold_lse(max, sum, (double)top, total);
}
