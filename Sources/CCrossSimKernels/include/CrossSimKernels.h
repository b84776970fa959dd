// Inner loops of CrossSim that Swift cannot compile to AVX2/FMA/F16C without unsafe flags.
// On x86-64 every kernel is built three times (baseline, AVX2 and AVX-512; see kernel_levels.h)
// and each call goes to the build of cs_cpu_vector_level(); elsewhere there is one portable
// build. The Swift side owns all memory.
#ifndef CROSSSIM_KERNELS_H
#define CROSSSIM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: Machine

/// The vector level the kernels run at: 0 baseline, 1 AVX2+FMA+F16C (x86-64-v3), 2 AVX-512
/// (F, BW, DQ, VL). The widest this CPU runs, capped by the environment variable
/// CROSSSIM_VECTOR_LEVEL when it is set, so that every level can be run (and tested) on one
/// machine. Read once, thread-safely.
int cs_cpu_vector_level(void);
/// Sets the level for the calls that follow (tests walk every level in one process); capped at
/// what this CPU runs. Returns the level now in force. Not for use while kernels run.
int cs_use_vector_level(int level);
/// The commit the library was built from, where the build defined it
/// (`swift build -Xcc -DCROSSSIM_COMMIT=$(git rev-parse HEAD)`); else NULL.
const char *cs_build_commit(void);

// MARK: Reading

/// IEEE binary16 → binary32, n values.
void cs_f16_to_f32(const uint16_t *src, float *dst, size_t n);
/// binary64 → binary32 (round to nearest), n values.
void cs_f64_to_f32(const double *src, float *dst, size_t n);
/// uint8 and int8 → binary32 (exact), n values.
void cs_u8_to_f32(const uint8_t *src, float *dst, size_t n);
void cs_i8_to_f32(const int8_t *src, float *dst, size_t n);
/// Reverses the byte order of `count` values of `width` bytes (2, 4 or 8) in place.
void cs_byteswap(void *data, size_t count, size_t width);

/// Checks every row and optionally scales it to unit length (computed in binary64, rounded once).
/// Writes each row's squared norm (after scaling) to `squared_norms` when it is not NULL.
/// Returns -1 when all rows are usable, else the first bad row; `*problem` is then
/// CS_ROW_NOT_FINITE or CS_ROW_ZERO (zero only matters when normalising).
int64_t cs_prepare_rows(float *x, size_t rows, size_t dim, int normalize,
                        float *squared_norms, int *problem);
enum { CS_ROW_NOT_FINITE = 1, CS_ROW_ZERO = 2 };

/// Σ a·b, accumulated in binary64 in an order that is the same at every vector level (the
/// products of two Float32 values are exact), so that every machine gets the same bits.
double cs_dot_f64(const float *a, const float *b, size_t dim);
/// Σ (a−b)² in binary64, in the same fixed order.
double cs_squared_distance_f64(const float *a, const float *b, size_t dim);
/// sum[d] += Σ_r x[r, d] in binary64.
void cs_add_rows_f64(const float *x, size_t rows, size_t dim, double *sum);
/// An upper bound of each row's Euclidean norm, as Float32.
void cs_row_norms(const float *x, size_t rows, size_t dim, float *norms);
/// Float32 bounds of each binary64 value, two units in the last place outside it
/// (lower[i] < x[i] < upper[i]), so that one rounding of a sum formed from them stays outside.
void cs_f32_bounds(const double *x, size_t n, float *lower, float *upper);
/// A bound on |fl(a·b) − a·b| / (‖a‖·‖b‖) for any Float32 dot product of length `dim`, in any
/// summation order, with or without FMA: γ_D = D·u / (1 − D·u), u = 2⁻²⁴, with room for the
/// rounding of the bound itself.
float cs_dot_error_bound(int64_t dim);

// MARK: Matrix product

/// Data cache sizes in bytes, read once from /sys (Linux), else sysconf, else assumed (32 KiB
/// and 512 KiB): L1 data and L2 of one core, and one CPU's share of L3 (its size over the CPUs
/// that share it; L2 when that is less, or when there is no L3).
typedef struct { int64_t l1, l2, l3_per_core; } cs_cache_sizes;
cs_cache_sizes cs_cache_sizes_of_this_cpu(void);

/// The blocking of cs_gemm_abt at the level in force: micro-tiles of mr rows × nr columns,
/// depth blocks of kc, nc rows of a and mc rows of b packed at a time.
typedef struct { int64_t mr, nr, kc, mc, nc; } cs_gemm_blocks;
cs_gemm_blocks cs_gemm_blocks_for(int64_t k);
/// Floats of workspace that cs_gemm_abt needs for m rows of a, n rows of b and depth k (at the
/// level in force: query again after cs_use_vector_level). Larger m or n never need less.
size_t cs_gemm_workspace_floats(int64_t m, int64_t n, int64_t k);
/// Which operand of cs_gemm_abt a packing is for: a's rows (c's rows) or b's (c's columns).
typedef enum { CS_GEMM_ROWS = 0, CS_GEMM_COLUMNS = 1 } cs_gemm_operand;
/// Floats that cs_gemm_pack needs for `rows` rows at depth k (at the level in force).
size_t cs_gemm_packed_floats(int64_t rows, int64_t k, cs_gemm_operand operand);
/// Packs rows of x (row stride k), every depth block, as cs_gemm_abt packs an operand a block
/// at a time, into `packed` (cs_gemm_packed_floats floats, any alignment), so that calls that
/// share an operand (a row block against each column tile of a panel, a column tile against
/// each row block) pack it once.
void cs_gemm_pack(const float *x, int64_t rows, int64_t k, cs_gemm_operand operand, float *packed);
/// A call's operands as cs_gemm_pack packed them (the same rows as its a and b); either may be
/// NULL, and that operand is then packed by the call into its workspace.
typedef struct { const float *a, *b; } cs_gemm_packed;
/// c[m×n, row stride ldc] = a[m×k]·b[n×k]ᵀ, a and b row-major with row stride k: CrossSim's
/// own packed GEMM, one thread, Float32 FMA accumulation. The same inputs give the same bits at
/// a given level and blocking, whatever the thread, the place of the tile or whether its
/// operands came packed. `workspace` holds cs_gemm_workspace_floats(m, n, k) floats, any
/// alignment (NULL when `packed` gives both operands); `packed` may be NULL.
void cs_gemm_abt(const float *a, const float *b, float *c, int64_t m, int64_t n, int64_t k, int64_t ldc,
                 float *workspace, const cs_gemm_packed *packed);

// MARK: Tile epilogue

/// One tile of S = a·bᵀ: `rows`×`cols` Float32 values, row stride `ld`, whose first element is
/// S[row0, col0] in global indices. `a` (rows×dim) and `b` (cols×dim) are the operands, with
/// upper bounds of their rows' norms, and `gamma` is cs_dot_error_bound(dim): every value of
/// the tile is then within gamma·a_norms[r]·b_norms[c] of the exact similarity, and a value
/// that close to a threshold is recomputed exactly (cs_dot_f64) before it is compared. Per-row
/// arrays passed with a tile start at its row 0, per-column arrays at its column 0.
/// `b_class` (or NULL) gives each column a number that columns share exactly when their rows
/// of b hold the same values: a near tie with a column equal to the last one recomputed reuses
/// its exact value (every cell of a collapsed set is a near tie).
typedef struct {
    const float *data;
    int64_t rows, cols, ld;
    int64_t row0, col0;
    const float *a, *b;
    int64_t dim;
    const float *a_norms, *b_norms;
    float gamma;
    const int32_t *b_class;
} cs_tile;

/// A threshold of the tie rule: the similarity to beat (exact, as cs_dot_f64 gives it), its
/// Float32 bounds, and the index that wins an exact tie against it.
typedef struct {
    const double *exact;
    const float *lower, *upper;
    const int32_t *index;
} cs_thresholds;

/// Rank counts by the README's tie rule, the same on every kernel path. Column j's threshold
/// is its positive pair: cols.index[j] is the x1 row it belongs to, and a cell (i, j) with
/// cols.index[j] == i is a positive, never counted. Row i counts cells whose exact similarity
/// is above its best positive's (rows.exact[i]), or equal with j < rows.index[i] (+∞ for a
/// row without positive); column j counts cells above cols.exact[j], or equal with
/// i < cols.index[j]. Cells within the tile's error bound of a threshold are recomputed
/// exactly. Adds Σ s and Σ s² over the tile's negative cells, which the same pass reads
/// anyway, to moments[0] and moments[1]: the spread of the negatives is taken from the tiles'
/// own values, so that a rounding error shared by every cell (a collapsed set) is no spread.
void cs_count_ranks(cs_tile t, cs_thresholds rows, cs_thresholds cols, int32_t *row_beaten,
                    int32_t *col_beaten, double *moments);

/// Best-k lists both ways as cs_topk takes them: k, rows×k row lists, and (NULL without
/// column lists) cols×k column lists with their floors and gates.
typedef struct {
    int64_t k;
    double *row_scores;
    int32_t *row_indices;
    double *col_scores;
    int32_t *col_indices;
    float *col_floor, *col_gate;
} cs_topk_lists;

/// Temperatures whose log-sum-exps one cs_gemm_abt_fused call takes at most.
#define CS_FUSED_LSE_MAX 4

/// One temperature's general log-sum-exp as cs_lse_online takes it: scale = 1/τ (0: none), the
/// running (max, sum) pairs of the tile's rows and columns, and scratch for its columns'
/// maxima and sums (`cols` of each).
typedef struct {
    double scale;
    double *row_max, *row_sum, *col_max, *col_sum;
    float *col_top;
    double *col_part;
} cs_online_lse;

/// The first pass of the figures, done by cs_gemm_abt_fused on each micro-tile as it leaves
/// the registers. Cell (i, j) is a positive, skipped, where positive_of_col[j] == i (global).
/// With row_beaten: what cs_count_ranks does, into the same arrays (cols.index is
/// positive_of_col). With lse_count > 0 (at most CS_FUSED_LSE_MAX): what cs_lse_fixed_shift
/// does (cosine, one exp) at each scales[t] into row_sums[t] and col_sums[t], t < lse_count.
/// With online.scale > 0: what cs_lse_online does at that scale (any similarity and τ), each
/// micro-panel's row sums and the tile's column sums shifted by running maxima rather than by
/// the tile's. With softplus_sum: what cs_softplus_sum does at `softplus_scale` and
/// `softplus_bias`, added to *softplus_sum. With top.k > 0: what cs_topk does with those lists, without positive_of_col
/// (positives are candidates) and without ceilings. Per-row and per-column arrays start at the
/// tile's row 0 and column 0.
typedef struct {
    const int32_t *positive_of_col;
    cs_thresholds rows, cols;
    int32_t *row_beaten, *col_beaten;
    double *moments;
    int64_t lse_count;
    const float *scales;
    double *const *row_sums;
    double *const *col_sums;
    cs_online_lse online;
    float softplus_scale, softplus_bias;
    double *softplus_sum;
    cs_topk_lists top;
} cs_fused_epilogue;
/// The tile t (t.a·t.bᵀ, t.rows × t.cols at depth t.dim, row stride t.ld; t.data is not read)
/// by cs_gemm_abt's loops and bits, with the epilogue e applied to every value once it is
/// final, in an order set by the tile's shape alone. Writes the tile to c only if `store`;
/// c (t.rows × t.ld) is used either way when t.dim spans several depth blocks. `workspace`
/// and `packed` as cs_gemm_abt's.
void cs_gemm_abt_fused(cs_tile t, float *c, int store, float *workspace, const cs_gemm_packed *packed,
                       const cs_fused_epilogue *e);
/// cs_gemm_abt's micro-kernel without its loads, `iterations` times (mr·nr FMAs each, the
/// blocking of cs_gemm_blocks_for): what `crosssim bench` times as the FMA peak of a core.
float cs_fma_peak_loop(int64_t iterations);

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

/// Σ softplus(scale·s + bias) over the tile's negative cells (NULL positive_of_col: the tile
/// holds none). Positive pairs are left to the caller, who knows them in binary64.
double cs_softplus_sum(cs_tile t, const int32_t *positive_of_col, float scale, float bias);

/// Counts the tile's values into `bins` equal bins over [lo, hi] (values outside go to the
/// end bins), positives (positive_of_col[j] == i) and negatives separately.
void cs_histogram(cs_tile t, const int32_t *positive_of_col, float lo, float hi, int64_t bins,
                  uint64_t *negative, uint64_t *positive);

/// Keeps per row (row_scores/row_indices: rows×k) and per column (col_scores/col_indices:
/// cols×k) the k best cells, best first by the tie rule of ranks: higher exact similarity,
/// then lower index. Scores are the exact similarities (cs_dot_f64) of the cells kept, so the
/// lists do not depend on the order in which cells are offered. Lists start filled with
/// (−∞, INT32_MAX). `col_floor` holds, per column, a Float32 value no greater than the k-th
/// best exact similarity of the column's final list (−∞ when nothing is known): a cell below
/// it is not offered. The kernel raises it to a list's last score as the list fills; threads
/// that fill their own lists of the same columns (other rows) may share it, each reading and
/// raising it atomically, so that every list is filtered by the best bound any has found.
/// `col_gate` is scratch of `cols` floats. A row whose list is empty (its first tile) gets
/// such a bound from the tile: the k-th largest of its vector lanes' maxima less the error
/// bound (for k up to the lane count, without ceilings). NULL col_scores: rows only
/// (col_indices, col_floor, col_gate and col_ceiling unused). With `positive_of_col`,
/// positive cells (positive_of_col[j] == i) are not candidates: the lists hold the best
/// negatives. With ceilings (one threshold per row of the tile in row_ceiling, one per column
/// in col_ceiling; both or neither when columns are kept), a cell that beats its query's
/// threshold by the tie rule is not a candidate either (hard negatives: below the positive by
/// a margin).
void cs_topk(cs_tile t, const int32_t *positive_of_col, const cs_thresholds *row_ceiling,
             const cs_thresholds *col_ceiling, int64_t k, double *row_scores, int32_t *row_indices,
             double *col_scores, int32_t *col_indices, float *col_floor, float *col_gate);
/// Raises cs_topk's floors of the tile's columns that no list has reached yet (−∞), for k up
/// to 16, without ceilings: the maxima of a column's cells over 16 groups of rows (r ≡ g mod
/// 16) are the values of distinct candidates (positive_of_col as cs_topk's), each within the
/// error bound of its exact similarity, so the column's k-th best is no lower than the k-th
/// largest of them less that. Given a whole tile, the column's first tile then offers some k
/// cells, not the k·ln(rows/k) of a list filling from empty.
void cs_topk_seed_column_floors(cs_tile t, const int32_t *positive_of_col, int64_t k, float *col_floor);

/// Wang & Isola uniformity term over the tile of a set against itself: folds
/// (max, Σ exp(u − max)) of u = −2·(‖a‖² + ‖b‖² − 2s) into (*max, *sum), skipping i == j.
void cs_uniformity(cs_tile t, const float *squared_norm_rows, const float *squared_norm_cols,
                   double *max, double *sum);

// MARK: Near-duplicates

/// The cells of the tile whose exact similarity (cs_dot_f64) is ≥ threshold, decided by the
/// tie rule's machinery: a cell within the tile's error bound of the threshold is recomputed
/// exactly, so a pair at exactly the threshold is found on every machine. With upper_only, only
/// cells whose global column index is above their global row index (a set against itself).
/// Writes each cell's row and column offsets in the tile and its exact similarity, in row-major
/// order, and returns how many; the arrays hold at least rows·cols entries.
int64_t cs_threshold_cells(cs_tile t, double threshold, int upper_only, int32_t *rows, int32_t *cols,
                           double *scores);

// MARK: Gradient

/// The InfoNCE gradient's weights W = dL/dS of a tile (docs/gradient.md), written to w (row
/// stride ldw): for a negative cell row_weight[r]·e^(scale·s − row_shift[r]) +
/// col_weight·e^(scale·s − col_shift[c]), the shifts being the full log-sum-exps of the row
/// and the column; a positive cell (positive_of_col[c] == row, NULL when the tile holds none)
/// gets positive_weight[c], which the caller computed in binary64.
void cs_infonce_weights(cs_tile t, const int32_t *positive_of_col, float scale,
                        const float *row_shift, const float *row_weight,
                        const float *col_shift, float col_weight,
                        const float *positive_weight, float *w, int64_t ldw);

/// The SigLIP gradient's weights of a tile: negative_weight·sigmoid(scale·s + bias) for a
/// negative cell, positive_weight[c] for a positive one (as cs_infonce_weights).
void cs_siglip_weights(cs_tile t, const int32_t *positive_of_col, float scale, float bias,
                       float negative_weight, const float *positive_weight, float *w, int64_t ldw);

#ifdef __cplusplus
}
#endif
#endif
