// Inner loops of CrossSim that Swift cannot compile to AVX2/FMA/F16C without unsafe flags.
// On x86-64 ELF every kernel is built three times (x86-64-v4, x86-64-v3 and baseline) and the
// loader picks one per machine; elsewhere the one portable build is used. The Swift side owns all memory.
#ifndef CROSSSIM_KERNELS_H
#define CROSSSIM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: Machine

/// The widest vector level this CPU runs: 0 baseline, 1 AVX2+FMA, 2 AVX-512 (F, BW, DQ, VL),
/// capped by the environment variable CROSSSIM_VECTOR_LEVEL when it is set. At level 2 the
/// epilogue runs sixteen lanes wide.
int cs_cpu_vector_level(void);

// MARK: Reading

/// IEEE binary16 → binary32, n values.
void cs_f16_to_f32(const uint16_t *src, float *dst, size_t n);
/// binary64 → binary32 (round to nearest), n values.
void cs_f64_to_f32(const double *src, float *dst, size_t n);
/// Reverses the byte order of `count` values of `width` bytes (2, 4 or 8) in place.
void cs_byteswap(void *data, size_t count, size_t width);

/// Checks every row and optionally scales it to unit length (computed in binary64, rounded once).
/// Writes each row's squared norm (after scaling) to `squared_norms` when it is not NULL.
/// Returns -1 when all rows are usable, else the first bad row; `*problem` is then
/// CS_ROW_NOT_FINITE or CS_ROW_ZERO (zero only matters when normalising).
int64_t cs_prepare_rows(float *x, size_t rows, size_t dim, int normalize,
                        float *squared_norms, int *problem);
enum { CS_ROW_NOT_FINITE = 1, CS_ROW_ZERO = 2 };

/// Sum of a·b and of (a−b)², accumulated in binary64.
double cs_dot_f64(const float *a, const float *b, size_t dim);
double cs_squared_distance_f64(const float *a, const float *b, size_t dim);
/// sum[d] += Σ_r x[r, d] in binary64.
void cs_add_rows_f64(const float *x, size_t rows, size_t dim, double *sum);

// MARK: Tile epilogue

/// One tile of S: `rows`×`cols` Float32 values, row stride `ld`, whose first element is
/// S[row0, col0] in global indices. Per-row arrays passed with a tile start at its row 0,
/// per-column arrays at its column 0.
typedef struct {
    const float *data;
    int64_t rows, cols, ld;
    int64_t row0, col0;
} cs_tile;

/// Rank counts by SPEC's tie rule. A cell (i, j) with positive_of_col[j] == i is a positive
/// and never counted. Row i counts cells with s > best_sim_of_row[i], or equal with
/// j < best_col_of_row[i] (give +inf for a row without positive). Column j counts cells with
/// s > positive_sim_of_col[j], or equal with i < positive_of_col[j]. "Equal" is within
/// 4e-7·max(1, |s|), the rounding gap between a tile's sgemm and the positives' dot products.
/// Returns Σ s² over the tile, which the same pass reads anyway.
double cs_count_ranks(cs_tile t, const int32_t *positive_of_col, const float *positive_sim_of_col,
                      const float *best_sim_of_row, const int32_t *best_col_of_row,
                      int32_t *row_beaten, int32_t *col_beaten);

/// Adds Σ exp((s − 1)·scale) over the negative cells (positive_of_col[j] ≠ i) per row and per
/// column: one exp per element, exact when every s ≤ 1 and (−2·scale) stays above the smallest
/// normal exponent (cosine, moderate τ). Positives are left to the caller, who knows them in
/// binary64: the loss is then log1p of the negatives' share, accurate however small. Pass
/// NULL for positive_of_col when the tile holds no positive cell. `column_part` is scratch of
/// `cols` floats where column sums gather a few rows at a time before they are widened.
void cs_lse_fixed_shift(cs_tile t, const int32_t *positive_of_col, float scale,
                        double *row_sum, double *col_sum, float *column_part);

/// General log-sum-exp of scale·s over the negative cells: folds the tile's per-row and
/// per-column (max, Σ exp(z − max)) into the running pairs, the maxima kept in binary64
/// (scale·s with the exact scale). The three scratch arrays hold `cols` values each.
void cs_lse_online(cs_tile t, const int32_t *positive_of_col, double scale,
                   double *row_max, double *row_sum, double *col_max, double *col_sum,
                   float *col_max_scratch, double *col_sum_scratch, float *column_part);

/// Σ softplus(scale·s + bias) over the tile.
double cs_softplus_sum(cs_tile t, float scale, float bias);

/// Counts the tile's values into `bins` equal bins over [lo, hi] (values outside go to the
/// end bins), positives (positive_of_col[j] == i) and negatives separately.
void cs_histogram(cs_tile t, const int32_t *positive_of_col, float lo, float hi, int64_t bins,
                  uint64_t *negative, uint64_t *positive);

/// Keeps per row (scores/indices: rows×k) and per column (cols×k) the k best cells, best
/// first: higher score, then lower index. Lists start filled with (-inf, INT32_MAX).
void cs_topk_rows(cs_tile t, int64_t k, float *scores, int32_t *indices);
void cs_topk_cols(cs_tile t, int64_t k, float *scores, int32_t *indices);

/// Wang & Isola uniformity term over the tile of a set against itself: folds
/// (max, Σ exp(u − max)) of u = −2·(‖a‖² + ‖b‖² − 2s) into (*max, *sum), skipping i == j.
void cs_uniformity(cs_tile t, const float *squared_norm_rows, const float *squared_norm_cols,
                   double *max, double *sum);

#ifdef __cplusplus
}
#endif
#endif
