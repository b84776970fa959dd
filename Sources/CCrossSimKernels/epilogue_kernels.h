// The tile epilogue, compiled once per vector level (kernel_levels.h): each function reads
// one tile of S once and folds it into its reducer. Tails narrower than a vector reuse the
// vector path with neutral fill values.

/// Float32 terms are widened to binary64 a block at a time, not one vector at a time: a row's
/// terms gather in a Float32 vector over BLOCK chunks, a column's in Float32 over BLOCK rows,
/// so no Float32 partial sum holds more than BLOCK terms (rounding below BLOCK·2⁻²⁴ ≈ 5e-7
/// relative, far inside docs/accuracy.md's 1e-5 for losses) while the conversions cost 1/BLOCK as much.
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

/// Tiles are read two rows at a time, so that each column's state is loaded and stored once
/// per pair. A lone last row goes with a copy of itself whose contributions are masked off.
#define ROW_PAIR(t, r, valid_second) \
    const float *s_rows[2] = {(t).data + (r) * (t).ld, (t).data + MIN((r) + 1, (t).rows - 1) * (t).ld}; \
    const vi valid_second = VI_SPLAT((r) + 1 < (t).rows ? -1 : 0)

/// Whether the exact similarity of a cell beats a threshold by the tie rule: higher, or equal
/// with the lower index.
static inline int beats(double exact, int64_t index, double threshold, int64_t threshold_index) {
    return exact > threshold || (exact == threshold && index < threshold_index);
}

/// The largest of the tile's column norms: a row's error bound over the whole tile.
static inline float largest_b_norm(cs_tile t) {
    vf m = VF_SPLAT(0.0f);
    FOR_EACH_CHUNK(c, n, t.cols, m = VF_MAX(m, VF_LOAD_N(t.b_norms + c, n, 0.0f)););
    return VF_HMAX(m);
}

/// A Float32 no smaller than gamma·a·b.
static inline float error_bound(float gamma, float a, float b) {
    return float_above((double)gamma * (double)a * (double)b);
}

/// A column's error bound before its norm, over rows whose largest norm is a_max: gamma·a_max
/// with a margin for its own rounding (the bounds it widens have room for the rest).
static inline float column_error_bound(float gamma, float a_max) {
    return gamma * a_max * 1.000001f;
}

/// The comparisons of a chunk of columns against the row pair's and the columns' thresholds:
/// runs the statements after `n` once per row p of the pair, with `s`, `negative`, the sure
/// masks and the near masks in scope (and `col_hits` for the chunk).
#define RANK_CHUNK(c, n, ...)                                                              \
    const vi owner = VI_LOAD_N(cols.index + c, n, 0);                                     \
    const vf b_norm = VF_LOAD_N(t.b_norms + c, n, 0.0f);                                  \
    const vf col_lower = VF_FMA(-pair_error, b_norm, VF_LOAD_N(cols.lower + c, n, 0.0f)); \
    const vf col_upper = VF_FMA(pair_error, b_norm, VF_LOAD_N(cols.upper + c, n, 0.0f));  \
    vi col_hits = VI_SPLAT(0);                                                           \
    (void)col_hits;                                                                      \
    for (int p = 0; p < 2; p++) {                                                        \
        const vf s = VF_LOAD_N(s_rows[p] + c, n, 0.0f);                                  \
        const vi negative = (owner != row[p]) & valid[p] & TAIL_MASK(n);                 \
        const vi row_sure = s > row_upper[p], col_sure = s > col_upper;                  \
        const vi row_near = negative & ~row_sure & (s >= row_lower[p]);                  \
        const vi col_near = negative & ~col_sure & (s >= col_lower);                     \
        __VA_ARGS__                                                                      \
    }

void CS_LEVEL_NAME(cs_count_ranks)(cs_tile t, cs_thresholds rows, cs_thresholds cols,
                                   int32_t *row_beaten, int32_t *col_beaten, double *moments) {
    double sum = 0, squares = 0;
    const float b_max = largest_b_norm(t);
    for (int64_t r = 0; r < t.rows; r += 2) {
        ROW_PAIR(t, r, second);
        const int64_t q[2] = {r, MIN(r + 1, t.rows - 1)};
        const vi valid[2] = {VI_SPLAT(-1), second};
        const int32_t i[2] = {(int32_t)(t.row0 + q[0]), (int32_t)(t.row0 + q[1])};
        const vi row[2] = {VI_SPLAT(i[0]), VI_SPLAT(i[1])};
        // A value above `upper` is surely above its threshold, one below `lower` surely below;
        // in between it is decided exactly. The error bound widens each row's threshold by
        // gamma·‖a‖·max‖b‖, and each column's by gamma·max(‖a‖ of the pair)·‖b‖ (the bounds
        // of cs_f32_bounds have room for the rounding of these sums). A row without positive
        // has bounds +∞: nothing reaches them.
        vf row_lower[2], row_upper[2];
        for (int p = 0; p < 2; p++) {
            const double e = (double)error_bound(t.gamma, t.a_norms[q[p]], b_max);
            row_lower[p] = VF_SPLAT(float_below(rows.exact[q[p]] - e));
            row_upper[p] = VF_SPLAT(float_above(rows.exact[q[p]] + e));
        }
        const vf pair_error = VF_SPLAT(column_error_bound(t.gamma, fmaxf(t.a_norms[q[0]], t.a_norms[q[1]])));
        vi row_count[2] = {VI_SPLAT(0), VI_SPLAT(0)};
        vi near_seen = VI_SPLAT(0);
        vd lo = VD_ZERO, hi = VD_ZERO, sum_lo = VD_ZERO, sum_hi = VD_ZERO;
        // Surely above a threshold: counted here. Possibly equal: noted, and decided exactly
        // in a second pass over the pair, which real data rarely needs.
        FOR_EACH_CHUNK(c, n, t.cols,
            RANK_CHUNK(c, n,
                row_count[p] -= negative & row_sure;
                col_hits -= negative & col_sure;
                near_seen |= row_near | col_near;
                ACCUMULATE_MOMENTS_F64(sum_lo, sum_hi, lo, hi, negative, s);
            );
            if (n == LANES) {
                VI_STORE(col_beaten + c, VI_LOAD(col_beaten + c) + col_hits);
            } else {
                for (int64_t l = 0; l < n; l++) col_beaten[c + l] += col_hits[l];
            }
        );
        if (__builtin_reduce_or(near_seen)) {
            // Each row remembers its last exact value: a column equal to the last one computed
            // (duplicates; every column of a collapsed set) costs a compare, not a dot product.
            int64_t last_column[2] = {-1, -1};
            double last_exact[2] = {0, 0};
            FOR_EACH_CHUNK(c, n, t.cols,
                RANK_CHUNK(c, n,
                    if (!__builtin_reduce_or(row_near | col_near)) continue;
                    for (int64_t l = 0; l < n; l++) {
                        if (!(row_near[l] | col_near[l])) continue;
                        const int64_t j = t.col0 + c + l;
                        if (!same_column(t, c + l, last_column[p])) {
                            last_exact[p] = dot_f64(t.a + q[p] * t.dim, t.b + (c + l) * t.dim, (size_t)t.dim);
                            last_column[p] = c + l;
                        }
                        const double exact = last_exact[p];
                        if (row_near[l] && beats(exact, j, rows.exact[q[p]], rows.index[q[p]])) row_beaten[q[p]] += 1;
                        if (col_near[l] && beats(exact, i[p], cols.exact[c + l], cols.index[c + l])) col_beaten[c + l] += 1;
                    }
                );
            );
        }
        row_beaten[r] += (int32_t)VI_HSUM(row_count[0]);
        if (r + 1 < t.rows) row_beaten[r + 1] += (int32_t)VI_HSUM(row_count[1]);
        sum += VD_PAIR_SUM(sum_lo, sum_hi);
        squares += VD_PAIR_SUM(lo, hi);
    }
    moments[0] += sum;
    moments[1] += squares;
}


/// The tile's values of row r with positive cells (and tail lanes) set to −∞, so that sums of
/// exponentials see only negatives. Tiles that hold no positive (most of them) pass no owners
/// and skip the mask.
#define NEGATIVES_ONLY(s_row, c, n, row, positive_of_col) ({                         \
    const int32_t *no_owners_ = (positive_of_col);                                   \
    no_owners_ == NULL ? VF_LOAD_N((s_row) + (c), n, -INFINITY)                     \
        : VF_SELECT(VI_LOAD_N(no_owners_ + (c), n, (row)[0]) != (row),             \
                     VF_LOAD_N((s_row) + (c), n, 0.0f), VF_SPLAT(-INFINITY)); })


/// A row's terms of chunk c with the positive cells (owners[c] == row) and tail lanes zeroed.
#define NEGATIVE_TERMS(terms, owners, c, n, row) ({                                       \
    vf negative_terms_ = (terms);                                                          \
    if (owners) negative_terms_ = VF_SELECT(VI_LOAD_N((owners) + (c), n, 0) != (row), negative_terms_, VF_SPLAT(0.0f)); \
    if ((n) < LANES) negative_terms_ = VF_SELECT(TAIL_MASK(n), negative_terms_, VF_SPLAT(0.0f)); \
    negative_terms_; })

/// (s − 1)·k with one rounding where there is FMA; without it, s − 1 is exact for s ≥ 1/2
/// (every term that matters), so the product is the only rounding there too.
#ifdef CS_AVX2_OR_WIDER
#define SHIFTED_LOGIT(s, k) VF_FMA((s), (k), -(k))
#else
#define SHIFTED_LOGIT(s, k) (((s) - VF_SPLAT(1.0f)) * (k))
#endif

void CS_LEVEL_NAME(cs_lse_fixed_shift)(cs_tile t, const int32_t *positive_of_col, float scale,
                                       double *row_sum, double *col_sum, float *column_part) {
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
            vf e = VF_EXP_IN_RANGE(SHIFTED_LOGIT(VF_LOAD_N(s_row + c, n, 0.0f), k));
            e = NEGATIVE_TERMS(e, owners, c, n, row);
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

void CS_LEVEL_NAME(cs_lse_online)(cs_tile t, const int32_t *positive_of_col, double scale,
                                  double *row_max, double *row_sum, double *col_max, double *col_sum,
                                  float *col_max_scratch, double *col_sum_scratch, float *column_part) {
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

double CS_LEVEL_NAME(cs_softplus_sum)(cs_tile t, const int32_t *positive_of_col, float scale, float bias) {
    const vf k = VF_SPLAT(scale), b = VF_SPLAT(bias);
    double total = 0;
    WITH_AND_WITHOUT(positive_of_col, owners,
    for (int64_t r = 0; r < t.rows; r++) {
        const float *s_row = t.data + r * t.ld;
        const vi row = VI_SPLAT((int32_t)(t.row0 + r));
        block_sum sum = BLOCK_SUM_ZERO;
        FOR_EACH_CHUNK(c, n, t.cols,
            BLOCK_SUM_ADD(sum, NEGATIVE_TERMS(VF_SOFTPLUS(VF_FMA(VF_LOAD_N(s_row + c, n, 0.0f), k, b)), owners, c, n, row));
        );
        total += BLOCK_SUM_TOTAL(sum);
    });
    return total;
}

void CS_LEVEL_NAME(cs_histogram)(cs_tile t, const int32_t *positive_of_col, float lo, float hi, int64_t bins,
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

/// Inserts (score, index) into a best-first list of k if it beats the last entry.
static inline void offer(double *scores, int32_t *indices, int64_t k, double score, int32_t index) {
    if (!beats(score, index, scores[k - 1], indices[k - 1])) return;
    int64_t p = k - 1;
    while (p > 0 && beats(score, index, scores[p - 1], indices[p - 1])) {
        scores[p] = scores[p - 1];
        indices[p] = indices[p - 1];
        p--;
    }
    scores[p] = score;
    indices[p] = index;
}

/// Lanes of chunk c whose cell is a candidate: every lane, or with `owners` (positive_of_col)
/// those whose column is not the row's positive.
#define CANDIDATES(owners, c, n, row) \
    ((owners) ? VI_LOAD_N((owners) + (c), n, -1) != (row) : VI_SPLAT(-1))

/// Column floors may be shared by threads that fill other rows' lists of the same columns:
/// each reads and raises them with relaxed atomics (any value read is a lower bound).
static inline float load_floor(const float *floor) {
    float value;
    __atomic_load(floor, &value, __ATOMIC_RELAXED);
    return value;
}
static inline void store_floor(float *floor, float value) {
    __atomic_store(floor, &value, __ATOMIC_RELAXED);
}

/// The gate of a column for a strip: a cell of any of its rows whose value is below it cannot
/// reach the column's floor, whatever its rounding error (at most error·‖b‖, error being
/// gamma·max‖a‖ with a margin for its own rounding; the bound's room covers the rounding of
/// the difference, as in cs_count_ranks).
static inline float column_gate(float floor, float error, float b_norm) {
    return floor - error * b_norm;
}

/// The columns' error bound before their norm over the whole tile.
static inline float column_error(cs_tile t) {
    float a_max = 0;
    for (int64_t r = 0; r < t.rows; r++) a_max = fmaxf(a_max, t.a_norms[r]);
    return column_error_bound(t.gamma, a_max);
}

/// Each column's gate for the tile, from its floor.
static inline void open_column_gates(cs_tile t, float error, const float *col_floor, float *col_gate) {
    for (int64_t c = 0; c < t.cols; c++) col_gate[c] = column_gate(load_floor(col_floor + c), error, t.b_norms[c]);
}

/// One row of a strip as cs_topk sees it: its list, and the lists of the strip's columns.
typedef struct {
    cs_tile t;
    const int32_t *owners;
    const cs_thresholds *row_ceiling, *col_ceiling;
    int64_t k;
    double *row_scores, *col_scores;
    int32_t *row_indices, *col_indices;
    float *col_floor, *col_gate;
    float col_error;
    double row_error;
    /// A lower bound of the row's k-th best exact similarity known besides its list (−∞ if none).
    double row_floor;
    float row_top;
    /// The row's last exact similarity and its column (−1: none yet): an equal column reuses it.
    int64_t last_column;
    double last_exact;
} topk_row;

/// Whether a cell of Float32 value `value` may enter the row's list: its exact similarity may
/// reach the list's last score and the row's floor.
static inline int may_enter_row(const topk_row *x, float value) {
    return (double)value >= fmax(x->row_scores[x->k - 1], x->row_floor) - x->row_error && value <= x->row_top;
}

/// The row's gate: a cell below it cannot enter the row's list.
static inline float row_gate(const topk_row *x) {
    return float_below(fmax(x->row_scores[x->k - 1], x->row_floor) - x->row_error);
}

/// The k-th largest of top[0 ..< count] (k ≤ count), which it reorders.
static inline float kth_largest(float *top, int64_t count, int64_t k) {
    for (int64_t p = 0; p < k; p++) {
        for (int64_t q = p + 1; q < count; q++) {
            if (top[q] > top[p]) { const float swap = top[p]; top[p] = top[q]; top[q] = swap; }
        }
    }
    return top[k - 1];
}

/// Offers the cells of row r at columns c + (each set bit of `lanes`), whose values are
/// `values`[lane], that may enter the row's list or their column's: each is recomputed exactly
/// once for both. Returns the row's new gate. Kept out of line so that the filtering loop,
/// which rarely calls it, keeps its registers.
static __attribute__((noinline)) float offer_cells(topk_row *x, int64_t r, int64_t c, const float *values, uint32_t lanes) {
    const cs_tile t = x->t;
    const int32_t i = (int32_t)(t.row0 + r);
    const int64_t k = x->k;
    // The exact similarities need the columns' rows of b, which the strips streaming through
    // the cache have often pushed out by now.
    for (uint32_t l = lanes; l; l &= l - 1) {
        const float *b_row = t.b + (c + __builtin_ctz(l)) * t.dim;
        __builtin_prefetch(b_row);
        __builtin_prefetch(b_row + t.dim - 1);
    }
    for (; lanes; lanes &= lanes - 1) {
        const int64_t j = c + __builtin_ctz(lanes);
        const float value = values[__builtin_ctz(lanes)];
        const int for_row = may_enter_row(x, value);
        const int for_column = x->col_scores && value >= x->col_gate[j];
        if (!for_row && !for_column) continue;
        if (!same_column(t, j, x->last_column)) {
            x->last_exact = dot_f64(t.a + r * t.dim, t.b + j * t.dim, (size_t)t.dim);
            x->last_column = j;
        }
        const double exact = x->last_exact;
        const int32_t col_index = (int32_t)(t.col0 + j);
        const cs_thresholds *ceiling = x->row_ceiling;
        if (for_row && !(ceiling && beats(exact, col_index, ceiling->exact[r], ceiling->index[r])))
            offer(x->row_scores, x->row_indices, k, exact, col_index);
        ceiling = x->col_ceiling;
        if (for_column && !(ceiling && beats(exact, i, ceiling->exact[j], ceiling->index[j]))) {
            double *scores = x->col_scores + j * k;
            offer(scores, x->col_indices + j * k, k, exact, i);
            // Another thread may raise the floor meanwhile: whichever value stays is a lower
            // bound still.
            const float floor = fmaxf(load_floor(x->col_floor + j), float_below(scores[k - 1]));
            store_floor(x->col_floor + j, floor);
            x->col_gate[j] = column_gate(floor, x->col_error, t.b_norms[j]);
        }
    }
    return row_gate(x);
}

/// Row groups whose maxima bound a column's first k (k ≤ SEED_GROUPS).
#define SEED_GROUPS 16

void CS_LEVEL_NAME(cs_topk_seed_column_floors)(cs_tile t, const int32_t *positive_of_col, int64_t k, float *col_floor) {
    if (k > SEED_GROUPS) return;
    const int32_t *const owners = positive_of_col;
    const float error = column_error(t);
    FOR_EACH_CHUNK(c, n, t.cols,
        int unseen = 0;
        for (int64_t l = 0; l < n; l++) unseen |= load_floor(col_floor + c + l) == -INFINITY;
        if (unseen) {
            vf group[SEED_GROUPS];
            for (int g = 0; g < SEED_GROUPS; g++) group[g] = VF_SPLAT(-INFINITY);
            for (int64_t r = 0; r < t.rows; r++) {
                const vi row = VI_SPLAT((int32_t)(t.row0 + r));
                vf *top = &group[r % SEED_GROUPS];
                *top = VF_MAX(*top, VF_SELECT(TAIL_MASK(n) & CANDIDATES(owners, c, n, row),
                                              VF_LOAD_N(t.data + r * t.ld + c, n, -INFINITY), VF_SPLAT(-INFINITY)));
            }
            float maxima[SEED_GROUPS * LANES];
            memcpy(maxima, group, sizeof maxima);
            for (int64_t l = 0; l < n; l++) {
                float column[SEED_GROUPS];
                for (int g = 0; g < SEED_GROUPS; g++) column[g] = maxima[g * LANES + l];
                const float floor = float_below((double)kth_largest(column, SEED_GROUPS, k) - (double)error * t.b_norms[c + l]);
                if (floor > load_floor(col_floor + c + l)) store_floor(col_floor + c + l, floor);
            }
        }
    );
}

void CS_LEVEL_NAME(cs_topk)(cs_tile t, const int32_t *positive_of_col, const cs_thresholds *row_ceiling,
                            const cs_thresholds *col_ceiling, int64_t k, double *row_scores, int32_t *row_indices,
                            double *col_scores, int32_t *col_indices, float *col_floor, float *col_gate) {
    const float b_max = largest_b_norm(t);
    topk_row x = {t, positive_of_col, row_ceiling, col_ceiling, k, NULL, col_scores, NULL, col_indices,
                  col_floor, col_gate, column_error(t), 0, -INFINITY, INFINITY, -1, 0};
    if (col_scores) open_column_gates(t, x.col_error, col_floor, col_gate);
    // Each cell is compared with its row's gate and its column's (the column gates stay in L1
    // for the strip's rows); only the cells that pass one (a few per row once the lists have
    // filled) are recomputed exactly and offered.
    WITH_AND_WITHOUT(positive_of_col, owners,
    WITH_AND_WITHOUT(row_ceiling, ceiling,
    WITH_AND_WITHOUT(col_scores, columns,
    for (int64_t r = 0; r < t.rows; r++) {
        const float *s_row = t.data + r * t.ld;
        const vi row = VI_SPLAT((int32_t)(t.row0 + r));
        x.row_scores = row_scores + r * k;
        x.row_indices = row_indices + r * k;
        // A cell can enter the row's list only if s + gamma·‖a‖·‖b‖ reaches its last score,
        // and (with a ceiling) only if s − gamma·‖a‖·‖b‖ does not surely beat the row's ceiling.
        x.row_error = (double)error_bound(t.gamma, t.a_norms[r], b_max);
        if (ceiling) x.row_top = float_above(ceiling->exact[r] + x.row_error);
        x.row_floor = -INFINITY;
        x.last_column = -1;
        if (!ceiling && k <= 2 * LANES && x.row_scores[k - 1] == -INFINITY) {
            // The row's first tile: its empty list would take in some k·ln(cols/k) cells on
            // the way to its best k. The maxima of the lanes of even chunks and of odd ones
            // (2·LANES groups, so that k = 10 has them with eight lanes) are the values of
            // distinct candidates, each within row_error of its exact similarity: the row's
            // k-th best is no lower than the k-th largest of them less row_error. (With a
            // ceiling, the largest values may be no candidates.)
            vf top[2] = {VF_SPLAT(-INFINITY), VF_SPLAT(-INFINITY)};
            FOR_EACH_CHUNK(c, n, t.cols,
                vf *half = &top[(c / LANES) & 1];
                *half = VF_MAX(*half, VF_SELECT(TAIL_MASK(n) & CANDIDATES(owners, c, n, row),
                                                VF_LOAD_N(s_row + c, n, -INFINITY), VF_SPLAT(-INFINITY))););
            float lanes[2 * LANES];
            memcpy(lanes, top, sizeof lanes);
            x.row_floor = (double)kth_largest(lanes, 2 * LANES, k) - x.row_error;
        }
        vf gate = VF_SPLAT(row_gate(&x));
        const vf top = VF_SPLAT(x.row_top);
        FOR_EACH_CHUNK(c, n, t.cols,
            const vf s = VF_LOAD_N(s_row + c, n, -INFINITY);
            vi maybe = s >= gate;
            if (ceiling) maybe &= s <= top;
            if (columns) {
                vi for_column = s >= VF_LOAD_N(col_gate + c, n, INFINITY);
                if (ceiling) for_column &= s <= VF_FMA(VF_SPLAT(x.col_error), VF_LOAD_N(t.b_norms + c, n, 0.0f),
                                                        VF_LOAD_N(col_ceiling->upper + c, n, INFINITY));
                maybe |= for_column;
            }
            maybe &= TAIL_MASK(n) & CANDIDATES(owners, c, n, row);
            const uint32_t lanes = VI_BITS(maybe);
            if (lanes) gate = VF_SPLAT(offer_cells(&x, r, c, s_row + c, lanes));
        );
    });););
}

void CS_LEVEL_NAME(cs_uniformity)(cs_tile t, const float *squared_norm_rows,
                                  const float *squared_norm_cols, double *max, double *sum) {
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
