// The packed GEMM C = A·Bᵀ, compiled once per vector level (kernel_levels.h), after Goto and
// van de Geijn's layering as BLIS describes it. A's rows become the rows of C and B's rows its
// columns; both are row-major with the contraction dimension contiguous.
//
// Loops, outermost first: rows of A in blocks of `nc` (packed, kept in L3), depth in blocks of
// `kc`, columns of C (rows of B) in blocks of `mc` (packed, kept in L2), then micro-panels of
// GEMM_MR rows of A (one stays in L1 while every micro-panel of B's block streams past it),
// then micro-panels of GEMM_NR rows of B: one micro-kernel call per GEMM_MR×GEMM_NR micro-tile.
// C's rows run along the vector lanes, so the micro-kernel broadcasts one value of A's panel
// per row and multiplies it into GEMM_NR / LANES vectors of B's panel.
//
// Every C value is the same chain of Float32 FMAs over k inside each depth block, the blocks
// added in order: its bits depend on the level and kc only, not on where the value lies in
// the tile, on edges or on threads (each call is single-threaded). The error of any order of
// summation is within cs_dot_error_bound (docs/definitions.md, Ranks), which the tie rule
// relies on.

/// The micro-tile: GEMM_MR rows of accumulators, each GEMM_NR lanes wide, all in registers
/// with room for B's vectors. AVX-512 (32 registers): 12×32 is 24 accumulators, 2 of B and
/// the broadcast folded into the FMA, with 24 independent FMAs to cover their latency (4
/// cycles on 2 ports needs 8); AVX2+FMA (16 registers): 6×16 is 12 + 2 + 1. The baseline
/// takes 4×8 for x86-64's SSE2 (16 registers, two per vector of 8 lanes, and no FMA: a product
/// needs a register of its own).
#if LANES == 16
#define GEMM_MR 12
#define GEMM_NR 32
#elif defined(CS_AVX2_OR_WIDER)
#define GEMM_MR 6
#define GEMM_NR 16
#else
#define GEMM_MR 4
#define GEMM_NR 8
#endif
#define GEMM_VECTORS (GEMM_NR / LANES)
/// Quarters of L1 that A's micro-panel (GEMM_MR × kc) may take. With AVX-512 three: on a
/// Sapphire Rapids (48 KiB L1) D = 768 is then one depth block, which took 0.89–0.94 × the CPU
/// time of two blocks of 384 in whole evaluations (no partial sums of C stored and read
/// back). Elsewhere two, as measured before.
#if LANES == 16
#define GEMM_L1_QUARTERS_FOR_A 3
#else
#define GEMM_L1_QUARTERS_FOR_A 2
#endif
/// One value in every lane. VF_SPLAT adds the value to a vector of zeros, which turns −0 into
/// +0 and so costs an addition per broadcast; this is the broadcast alone.
#if LANES == 16
#define GEMM_BROADCAST(x) ({ const vf gb_v_ = {(x)}; __builtin_shufflevector(gb_v_, gb_v_, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0); })
#else
#define GEMM_BROADCAST(x) ({ const vf gb_v_ = {(x)}; __builtin_shufflevector(gb_v_, gb_v_, 0, 0, 0, 0, 0, 0, 0, 0); })
#endif
/// Packed panels start on a cache line.
#define GEMM_ALIGN_FLOATS 16

static inline int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

/// Block sizes for depth k from the caches this process measured (cs_cache_sizes). Part of L1
/// (GEMM_L1_QUARTERS_FOR_A) holds the A micro-panel, the rest is for B's stream; a quarter of L2
/// holds B's packed block (mc × kc: half was 3–5 % slower on a Sapphire Rapids, whose L2 also
/// takes C's lines and the packing's source); half of this CPU's share of L3 holds A's packed
/// block (nc × kc). kc splits k into equal blocks, so that no block is a sliver.
static cs_gemm_blocks gemm_blocks(int64_t k) {
    const cs_cache_sizes caches = cs_cache_sizes_of_this_cpu();
    const int64_t kc_max = caches.l1 * GEMM_L1_QUARTERS_FOR_A / 4 / (GEMM_MR * (int64_t)sizeof(float));
    const int64_t depth = k > 1 ? k : 1;
    const int64_t kc_limit = kc_max > 16 ? kc_max : 16;
    const int64_t k_blocks = (depth + kc_limit - 1) / kc_limit;
    const int64_t kc = (depth + k_blocks - 1) / k_blocks;
    const int64_t mc = caches.l2 / 4 / (kc * (int64_t)sizeof(float)) / GEMM_NR * GEMM_NR;
    const int64_t nc = caches.l3_per_core / 2 / (kc * (int64_t)sizeof(float)) / GEMM_MR * GEMM_MR;
    return (cs_gemm_blocks){GEMM_MR, GEMM_NR, kc, mc > GEMM_NR ? mc : GEMM_NR, nc > GEMM_MR ? nc : GEMM_MR};
}

cs_gemm_blocks CS_LEVEL_NAME(cs_gemm_blocks_for)(int64_t k) { return gemm_blocks(k); }

/// Packed A (at most nc rows) and packed B (at most mc rows), each kc deep and rounded up to
/// whole micro-panels, plus room to align both.
static int64_t gemm_workspace_floats(cs_gemm_blocks blocks, int64_t m, int64_t n) {
    const int64_t a_rows = round_up(m < blocks.nc ? m : blocks.nc, GEMM_MR);
    const int64_t b_rows = round_up(n < blocks.mc ? n : blocks.mc, GEMM_NR);
    return (a_rows + b_rows) * blocks.kc + 2 * GEMM_ALIGN_FLOATS;
}

size_t CS_LEVEL_NAME(cs_gemm_workspace_floats)(int64_t m, int64_t n, int64_t k) {
    return (size_t)gemm_workspace_floats(gemm_blocks(k), m > 1 ? m : 1, n > 1 ? n : 1);
}

static inline float *align_floats(float *p) {
    return (float *)(((uintptr_t)p + GEMM_ALIGN_FLOATS * sizeof(float) - 1) & ~(uintptr_t)(GEMM_ALIGN_FLOATS * sizeof(float) - 1));
}

typedef float f32x4 __attribute__((vector_size(16)));

/// Writes the 4×4 block of x at `in` (row stride ld) transposed to `out` (row stride panel).
static inline void transpose_4x4(const float *restrict in, int64_t ld, float *restrict out, int64_t panel) {
    f32x4 v0, v1, v2, v3;
    memcpy(&v0, in, sizeof v0);
    memcpy(&v1, in + ld, sizeof v1);
    memcpy(&v2, in + 2 * ld, sizeof v2);
    memcpy(&v3, in + 3 * ld, sizeof v3);
    const f32x4 t0 = __builtin_shufflevector(v0, v1, 0, 4, 1, 5), t1 = __builtin_shufflevector(v0, v1, 2, 6, 3, 7);
    const f32x4 t2 = __builtin_shufflevector(v2, v3, 0, 4, 1, 5), t3 = __builtin_shufflevector(v2, v3, 2, 6, 3, 7);
    const f32x4 o0 = __builtin_shufflevector(t0, t2, 0, 1, 4, 5), o1 = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
    const f32x4 o2 = __builtin_shufflevector(t1, t3, 0, 1, 4, 5), o3 = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
    memcpy(out, &o0, sizeof o0);
    memcpy(out + panel, &o1, sizeof o1);
    memcpy(out + 2 * panel, &o2, sizeof o2);
    memcpy(out + 3 * panel, &o3, sizeof o3);
}

/// The same for an 8×8 block (f32x8: row_kernels.h): pairs of rows interleaved, then pairs
/// of pairs, then the 128-bit halves exchanged.
static inline void transpose_8x8(const float *restrict in, int64_t ld, float *restrict out, int64_t panel) {
    f32x8 v[8], t[8], u[8];
    for (int q = 0; q < 8; q++) memcpy(&v[q], in + q * ld, sizeof v[q]);
    for (int q = 0; q < 8; q += 2) {
        t[q] = __builtin_shufflevector(v[q], v[q + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[q + 1] = __builtin_shufflevector(v[q], v[q + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int q = 0; q < 8; q += 4) {
        u[q] = __builtin_shufflevector(t[q], t[q + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[q + 1] = __builtin_shufflevector(t[q], t[q + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[q + 2] = __builtin_shufflevector(t[q + 1], t[q + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[q + 3] = __builtin_shufflevector(t[q + 1], t[q + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int q = 0; q < 4; q++) {
        const f32x8 low = __builtin_shufflevector(u[q], u[q + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        const f32x8 high = __builtin_shufflevector(u[q], u[q + 4], 4, 5, 6, 7, 12, 13, 14, 15);
        memcpy(out + q * panel, &low, sizeof low);
        memcpy(out + (q + 4) * panel, &high, sizeof high);
    }
}

/// Packs `rows` rows of x (row stride ld), columns k0 ..< k0 + kc, into micro-panels of
/// `panel` rows: within a panel, depth-major (the panel's `panel` values of one depth
/// together), rows past `rows` zero-filled up to the whole panel. Packing transposes: it goes
/// through registers eight (then four) rows by as many depths at a time, one source cache
/// line (16 depths) of every row before the next, so that what it writes stays in L1; rows
/// and depths left over go one value at a time. It runs at the speed of reading x from
/// memory, which prefetching did not raise.
static void pack_panels(const float *restrict x, int64_t ld, int64_t rows, int64_t k0, int64_t kc, int64_t panel,
                        float *restrict packed) {
    for (int64_t p0 = 0; p0 < rows; p0 += panel) {
        const int64_t valid = MIN(panel, rows - p0);
        float *restrict out = packed + p0 * kc;
        const float *restrict in = x + p0 * ld + k0;
        for (int64_t c0 = 0; c0 < kc; c0 += 16) {
            const int64_t c1 = MIN(c0 + 16, kc);
            int64_t r = 0, k;
            for (; r + 8 <= valid; r += 8) {
                for (k = c0; k + 8 <= c1; k += 8) transpose_8x8(in + r * ld + k, ld, out + k * panel + r, panel);
                for (; k < c1; k++)
                    for (int64_t q = r; q < r + 8; q++) out[k * panel + q] = in[q * ld + k];
            }
            for (; r + 4 <= valid; r += 4) {
                for (k = c0; k + 4 <= c1; k += 4) transpose_4x4(in + r * ld + k, ld, out + k * panel + r, panel);
                for (; k < c1; k++)
                    for (int64_t q = r; q < r + 4; q++) out[k * panel + q] = in[q * ld + k];
            }
            for (; r < panel; r++)
                for (k = c0; k < c1; k++) out[k * panel + r] = r < valid ? in[r * ld + k] : 0;
        }
    }
}

/// Micro-panel rows of an operand: GEMM_MR for a's (c's rows), GEMM_NR for b's.
static inline int64_t panel_rows(cs_gemm_operand operand) { return operand == CS_GEMM_ROWS ? GEMM_MR : GEMM_NR; }

/// An operand packed whole (cs_gemm_pack): depth block after depth block, each as pack_panels
/// lays out the operand's rows rounded up to whole micro-panels. The offset, in floats, of row
/// `first` (a multiple of the panel) of depth block k0: the block starts at k0 × those rows,
/// and the row at `first` × its depth kc, as in a block packed by the call. cs_gemm_pack writes
/// by it and gemm_abt reads by it.
static inline int64_t packed_block_offset(int64_t rows, int64_t k0, int64_t kc, int64_t first, int64_t panel) {
    return k0 * round_up(rows, panel) + first * kc;
}

size_t CS_LEVEL_NAME(cs_gemm_packed_floats)(int64_t rows, int64_t k, cs_gemm_operand operand) {
    const int64_t depth = k > 1 ? k : 1;
    return (size_t)(round_up(rows > 1 ? rows : 1, panel_rows(operand)) * depth + GEMM_ALIGN_FLOATS);
}

void CS_LEVEL_NAME(cs_gemm_pack)(const float *x, int64_t rows, int64_t k, cs_gemm_operand operand, float *packed) {
    if (rows <= 0 || k <= 0) return;
    const cs_gemm_blocks blocks = gemm_blocks(k);
    float *const whole = align_floats(packed);
    for (int64_t k0 = 0; k0 < k; k0 += blocks.kc) {
        const int64_t kc = MIN(blocks.kc, k - k0);
        pack_panels(x, k, rows, k0, kc, panel_rows(operand), whole + packed_block_offset(rows, k0, kc, 0, panel_rows(operand)));
    }
}

/// The micro-kernel's product: acc = the GEMM_MR×GEMM_NR product of an A micro-panel and a B
/// micro-panel over kc, gathered from zero in registers, of the panel's first `rows` rows (a
/// constant; the rows below stay zero). `c_lines` (row stride ldc), if given, are fetched for
/// writing while the products run, not when they are stored.
static inline __attribute__((always_inline)) void gemm_micro_product(int64_t kc, const float *restrict a_panel,
                                                                     const float *restrict b_panel, const float *c_lines,
                                                                     int64_t ldc, vf acc[GEMM_MR][GEMM_VECTORS],
                                                                     const int rows) {
    if (c_lines) {
#pragma clang loop unroll(full)
        for (int r = 0; r < rows; r++) {
            __builtin_prefetch(c_lines + r * ldc, 1);
            __builtin_prefetch(c_lines + r * ldc + GEMM_NR - 1, 1);
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < GEMM_MR; r++)
#pragma clang loop unroll(full)
        for (int v = 0; v < GEMM_VECTORS; v++) acc[r][v] = VF_SPLAT(0.0f);
    // The panels are walked by pointers that step, not indexed by k: inlined into the fused
    // epilogue's caller, the indexed form was compiled to recompute k·GEMM_MR·4 with two integer
    // instructions per step.
    const float *a_at = a_panel, *b_at = b_panel;
#pragma clang loop unroll_count(4)
    for (int64_t k = 0; k < kc; k++, a_at += GEMM_MR, b_at += GEMM_NR) {
        vf b[GEMM_VECTORS];
#pragma clang loop unroll(full)
        for (int v = 0; v < GEMM_VECTORS; v++) b[v] = VF_LOAD(b_at + v * LANES);
#pragma clang loop unroll(full)
        for (int r = 0; r < rows; r++) {
            const vf a = GEMM_BROADCAST(a_at[r]);
#pragma clang loop unroll(full)
            for (int v = 0; v < GEMM_VECTORS; v++) acc[r][v] = VF_FMA(a, b[v], acc[r][v]);
        }
    }
}

/// The micro-kernel: the product of the A micro-panel's first `rows` rows (a constant) written
/// to c (row stride ldc) or added to what c holds. The products reach c in one Float32
/// addition, whichever of the two the caller asks for. Always inlined: `rows` must be a
/// constant where the loops over it unroll, or the accumulators leave the registers (a call
/// with `rows` a variable ran at 35 % of the FMA peak).
static inline __attribute__((always_inline)) void gemm_micro_tile(int64_t kc, const float *restrict a_panel,
                                                                  const float *restrict b_panel, float *restrict c,
                                                                  int64_t ldc, int accumulate, const int rows) {
    vf acc[GEMM_MR][GEMM_VECTORS];
    gemm_micro_product(kc, a_panel, b_panel, c, ldc, acc, rows);
#pragma clang loop unroll(full)
    for (int r = 0; r < GEMM_MR; r++)
#pragma clang loop unroll(full)
        for (int v = 0; v < GEMM_VECTORS; v++) {
            float *to = c + r * ldc + v * LANES;
            const vf sum = accumulate ? VF_LOAD(to) + acc[r][v] : acc[r][v];
            memcpy(to, &sum, sizeof sum);
        }
}

/// Runs `product(ROWS)`, ROWS the least of GEMM_MR / 3, 2·GEMM_MR / 3 and GEMM_MR that holds
/// `rows`: a row block's last micro-panel (1024 rows leave 4 of 12 with AVX-512) multiplies the
/// rows it has, not the zero rows packed below them, for the same values.
#define FOR_EDGE_ROWS(rows, product)                                               \
    do {                                                                           \
        if ((rows) <= GEMM_MR / 3) {                                               \
            product(GEMM_MR / 3);                                                  \
        } else if ((rows) <= 2 * GEMM_MR / 3) {                                    \
            product(2 * GEMM_MR / 3);                                              \
        } else {                                                                   \
            product(GEMM_MR);                                                      \
        }                                                                          \
    } while (0)

/// An edge micro-tile (`rows` × `cols` of c, row stride ldc), computed whole into a buffer and
/// its valid part written to c or added to it: out of line, like the fused edge below.
static __attribute__((noinline)) void gemm_edge_micro_tile(int64_t kc, const float *restrict a_panel,
                                                           const float *restrict b_panel, float *restrict c,
                                                           int64_t ldc, int accumulate, int64_t rows, int64_t cols) {
    float edge[GEMM_MR * GEMM_NR];
#define EDGE_PRODUCT(product_rows) gemm_micro_tile(kc, a_panel, b_panel, edge, GEMM_NR, 0, product_rows)
    FOR_EDGE_ROWS(rows, EDGE_PRODUCT);
#undef EDGE_PRODUCT
    for (int64_t r = 0; r < rows; r++)
        for (int64_t col = 0; col < cols; col++)
            c[r * ldc + col] = accumulate ? c[r * ldc + col] + edge[r * GEMM_NR + col] : edge[r * GEMM_NR + col];
}

// MARK: The fused epilogue

/// Asks for `bytes` from p into L2, a cache line at a time.
static inline void prefetch_to_l2(const void *p, int64_t bytes) {
    for (int64_t at = 0; at < bytes; at += 64) __builtin_prefetch((const char *)p + at, 0, 2);
}

/// One cs_gemm_abt_fused call: its tile and epilogue, and what every micro-tile reads of them.
typedef struct {
    cs_tile t;
    const cs_fused_epilogue *e;
    /// The largest column norm of the tile, for each row's error bound (as cs_count_ranks), and
    /// the columns' error bound before their norm (as cs_topk).
    float b_max, col_error;
    vf scales[CS_FUSED_LSE_MAX], softplus_scale, softplus_bias;
    /// Σ s and Σ s² over the call's negatives, added to e->moments at its end, and their Σ
    /// softplus, added to e->softplus_sum.
    double sum, squares, softplus;
    /// The online temperature's scale, and how far a negative may pass a running maximum before
    /// it is raised (ONLINE_SLACK / scale).
    vf online_scale, online_slack;
} fused_call;

/// What a micro-panel of GEMM_MR rows gathers while the micro-tiles of one block of B's rows
/// pass through registers: partial counts and sums held in L1, added to the call's outputs
/// when the block ends, so that their order is the tile plan's, whatever the thread.
typedef struct {
    /// Rows of the panel inside the tile, and their global indices.
    int64_t rows;
    int32_t row_index[GEMM_MR];
    /// Each row's threshold widened by its error bound over the tile (as cs_count_ranks).
    float row_lower[GEMM_MR], row_upper[GEMM_MR];
    /// The panel's largest row norm times gamma: the columns' thresholds are widened by it.
    vf pair_error;
    vi row_count[GEMM_MR];
    vd lse_lo[CS_FUSED_LSE_MAX][GEMM_MR], lse_hi[CS_FUSED_LSE_MAX][GEMM_MR];
    /// The online temperature's running maximum of each row over the panel (−∞: none yet), and
    /// the row's sum of terms shifted by it.
    float online_top[GEMM_MR];
    vd online_lo[GEMM_MR], online_hi[GEMM_MR];
    vd sum_lo, sum_hi, squares_lo, squares_hi, softplus_lo, softplus_hi;
    /// Each row's last exact similarity recomputed and its column (-1: none yet), kept across
    /// the micro-tiles: a collapsed set's near ties then cost one dot product per row and
    /// block, not one per micro-tile row.
    int64_t last_column[GEMM_MR];
    double last_exact[GEMM_MR];
    /// Each row's gate for its best-k list (as cs_topk's; +∞ past the panel's rows), and its
    /// error bound over the tile.
    float top_gate[GEMM_MR];
    double top_error[GEMM_MR];
} fused_panel;

/// Starts the panel of tile rows first ..< first + rows.
static void fused_panel_begin(const fused_call *f, fused_panel *p, int64_t first, int64_t rows) {
    const cs_tile t = f->t;
    const cs_fused_epilogue *e = f->e;
    float a_max = 0;
    p->rows = rows;
    for (int r = 0; r < GEMM_MR; r++) {
        p->row_count[r] = VI_SPLAT(0);
        for (int64_t t = 0; t < e->lse_count; t++) p->lse_lo[t][r] = p->lse_hi[t][r] = VD_ZERO;
        p->online_top[r] = -INFINITY;
        p->online_lo[r] = p->online_hi[r] = VD_ZERO;
        p->row_index[r] = -1;
        p->row_lower[r] = p->row_upper[r] = INFINITY;
        p->last_column[r] = -1;
        p->last_exact[r] = 0;
        p->top_gate[r] = INFINITY;
        if (r >= rows) continue;
        const int64_t q = first + r;
        p->row_index[r] = (int32_t)(t.row0 + q);
        a_max = fmaxf(a_max, t.a_norms[q]);
        const double bound = (double)error_bound(t.gamma, t.a_norms[q], f->b_max);
        if (e->top.k) {
            p->top_error[r] = bound;
            p->top_gate[r] = float_below(e->top.row_scores[q * e->top.k + e->top.k - 1] - bound);
        }
        if (e->row_beaten) {
            p->row_lower[r] = float_below(e->rows.exact[q] - bound);
            p->row_upper[r] = float_above(e->rows.exact[q] + bound);
        }
    }
    p->pair_error = VF_SPLAT(column_error_bound(t.gamma, a_max));
    p->sum_lo = p->sum_hi = p->squares_lo = p->squares_hi = p->softplus_lo = p->softplus_hi = VD_ZERO;
}

/// Adds the panel's partials to the call's outputs.
static void fused_panel_end(fused_call *f, const fused_panel *p, int64_t first) {
    const cs_fused_epilogue *e = f->e;
    for (int64_t r = 0; r < p->rows; r++) {
        if (e->row_beaten) e->row_beaten[first + r] += (int32_t)VI_HSUM(p->row_count[r]);
        for (int64_t t = 0; t < e->lse_count; t++)
            e->row_sums[t][first + r] += VD_PAIR_SUM(p->lse_lo[t][r], p->lse_hi[t][r]);
        if (e->online.scale > 0)
            fold_lse(e->online.row_max + first + r, e->online.row_sum + first + r,
                     (double)p->online_top[r] * e->online.scale, VD_PAIR_SUM(p->online_lo[r], p->online_hi[r]));
    }
    f->sum += VD_PAIR_SUM(p->sum_lo, p->sum_hi);
    f->squares += VD_PAIR_SUM(p->squares_lo, p->squares_hi);
    f->softplus += VD_PAIR_SUM(p->softplus_lo, p->softplus_hi);
}

/// Rank counts of a micro-tile with a cell within its error bound of a threshold (rare outside
/// exact duplicates and crowded thresholds): surely above is counted a vector at a time, and
/// the near cells of a vector that has any are decided one at a time on their exact
/// similarity (docs/definitions.md, Ranks). `s` is the micro-tile
/// (GEMM_MR × GEMM_NR), `col_lower` and `col_upper` its columns' widened thresholds; its first
/// cell is tile cell (first, col) and `cols` of its columns are in the tile. Each row of the
/// panel remembers its last exact value, so duplicate columns cost a compare, not a dot
/// product.
static __attribute__((noinline, cold)) void fused_rank_counts(const fused_call *f, fused_panel *p, const float *s,
                                                               const float *col_lower, const float *col_upper,
                                                               int64_t first, int64_t col, int64_t cols) {
    const cs_tile t = f->t;
    const cs_fused_epilogue *e = f->e;
    for (int64_t r = 0; r < p->rows; r++) {
        const int64_t q = first + r;
        const vi row = VI_SPLAT(p->row_index[r]);
        const vf lower = VF_SPLAT(p->row_lower[r]), upper = VF_SPLAT(p->row_upper[r]);
        int64_t last_column = p->last_column[r];
        double last_exact = p->last_exact[r];
        for (int64_t c = 0; c < cols; c += LANES) {
            const int64_t n = MIN(LANES, cols - c);
            const vf x = VF_LOAD(s + r * GEMM_NR + c), low = VF_LOAD(col_lower + c), high = VF_LOAD(col_upper + c);
            const vi negative = (VI_LOAD_N(e->positive_of_col + col + c, n, 0) != row) & TAIL_MASK(n);
            const vi row_sure = x > upper, col_sure = x > high;
            const vi row_near = negative & ~row_sure & (x >= lower), col_near = negative & ~col_sure & (x >= low);
            p->row_count[r] -= negative & row_sure;
            vi col_hits = -(negative & col_sure);
            if (__builtin_reduce_or(row_near | col_near)) {
                for (int64_t l = 0; l < n; l++) {
                    if (!(row_near[l] | col_near[l])) continue;
                    const int64_t j = col + c + l;
                    if (!same_column(t, j, last_column)) {
                        last_exact = dot_f64(t.a + q * t.dim, t.b + j * t.dim, (size_t)t.dim);
                        last_column = j;
                    }
                    if (row_near[l] && beats(last_exact, t.col0 + j, e->rows.exact[q], e->rows.index[q])) e->row_beaten[q] += 1;
                    if (col_near[l] && beats(last_exact, p->row_index[r], e->cols.exact[j], e->cols.index[j])) col_hits[l] += 1;
                }
            }
            int32_t *to = e->col_beaten + col + c;
            if (n == LANES) {
                VI_STORE(to, VI_LOAD(to) + col_hits);
            } else {
                for (int64_t l = 0; l < n; l++) to[l] += col_hits[l];
            }
        }
        p->last_column[r] = last_column;
        p->last_exact[r] = last_exact;
    }
}

/// Σ softplus(scale·s + bias) over the negatives of a micro-tile (`values`, GEMM_MR × GEMM_NR,
/// its columns' positives `owner` and `in_tile` the lanes inside the tile), summed in Float32
/// over its vectors before it is widened.
static __attribute__((noinline)) void fused_softplus(const fused_call *f, fused_panel *p, const float *values,
                                                     const vi owner[GEMM_VECTORS], const vi in_tile[GEMM_VECTORS]) {
    const vf scale = f->softplus_scale, bias = f->softplus_bias;
    vf part = VF_SPLAT(0.0f);
    // Most micro-tiles are whole and hold no positive: their cells are summed unmasked.
    const vi first = VI_SPLAT(p->row_index[0]), last = VI_SPLAT(p->row_index[p->rows - 1]);
    vi excluded = VI_SPLAT(p->rows == GEMM_MR ? 0 : -1);
#pragma clang loop unroll(full)
    for (int v = 0; v < GEMM_VECTORS; v++) excluded |= ~in_tile[v] | ((owner[v] >= first) & (owner[v] <= last));
    if (!__builtin_reduce_or(excluded)) {
        for (int i = 0; i < GEMM_MR * GEMM_VECTORS; i++) part += VF_SOFTPLUS(VF_FMA(VF_LOAD(values + i * LANES), scale, bias));
    } else {
        for (int64_t r = 0; r < p->rows; r++) {
            const vi row = VI_SPLAT(p->row_index[r]);
#pragma clang loop unroll(full)
            for (int v = 0; v < GEMM_VECTORS; v++) {
                const vf x = VF_LOAD(values + r * GEMM_NR + v * LANES);
                part += VF_SELECT((owner[v] != row) & in_tile[v], VF_SOFTPLUS(VF_FMA(x, scale, bias)), VF_SPLAT(0.0f));
            }
        }
    }
    ACCUMULATE_F64(p->softplus_lo, p->softplus_hi, part);
}

/// How far (in units of the exponent) a negative may pass its row's or its column's running
/// maximum before the maximum is raised: terms stay below e^32, so Float32 partials of a
/// micro-tile's terms stay finite, and most micro-tiles raise none.
#define ONLINE_SLACK 32.0f

/// Raises the running maxima that a negative of the micro-tile (`values`, its columns'
/// negatives' maxima `col_max`) passes by more than the slack to that negative, and rescales
/// the sums shifted by them in binary64, as fold_lse does: rare once a panel's and a tile's
/// first micro-tiles have set them.
static __attribute__((noinline, cold)) void fused_online_raise(const fused_call *f, fused_panel *p, const float *values,
                                                                 const vi owner[GEMM_VECTORS], const vi in_tile[GEMM_VECTORS],
                                                                 const vf col_max[GEMM_VECTORS], int64_t col) {
    const cs_online_lse *o = &f->e->online;
    const float slack = f->online_slack[0];
    for (int64_t r = 0; r < p->rows; r++) {
        const vi row = VI_SPLAT(p->row_index[r]);
        vf m = VF_SPLAT(-INFINITY);
        for (int v = 0; v < GEMM_VECTORS; v++)
            m = VF_MAX(m, VF_SELECT((owner[v] != row) & in_tile[v], VF_LOAD(values + r * GEMM_NR + v * LANES),
                                    VF_SPLAT(-INFINITY)));
        const float top = VF_HMAX(m);
        if (!(top > p->online_top[r] + slack)) continue;
        const double factor = p->online_top[r] == -INFINITY ? 0 : exp(((double)p->online_top[r] - top) * o->scale);
        p->online_lo[r] *= factor;
        p->online_hi[r] *= factor;
        p->online_top[r] = top;
    }
    for (int v = 0; v < GEMM_VECTORS; v++)
        for (int l = 0; l < LANES; l++) {
            // A lane without a negative (−∞) may lie past the tile, and past the scratch.
            const float top = col_max[v][l];
            if (top == -INFINITY) continue;
            float *const running = o->col_top + col + v * LANES + l;
            if (!(top > *running + slack)) continue;
            double *const sum = o->col_part + col + v * LANES + l;
            *sum = *running == -INFINITY ? 0 : *sum * exp(((double)*running - top) * o->scale);
            *running = top;
        }
}

/// The online temperature's log-sum-exp (cs_lse_online's) over the negatives of a micro-tile
/// (`values`, GEMM_MR × GEMM_NR, first column tile column `col`, `width` of each vector's
/// columns in the tile): each row's terms shifted by the panel's running maximum of the row,
/// each column's by the tile's running maximum of the column, both within ONLINE_SLACK of the
/// largest negative seen (fused_online_raise). Two exps per cell, as cs_lse_online; summed in
/// Float32 over the micro-tile's row (GEMM_NR columns) or column (GEMM_MR rows) before they are
/// widened.
static __attribute__((noinline)) void fused_online_lse(const fused_call *f, fused_panel *p, const float *values,
                                                       const vi owner[GEMM_VECTORS], const vi in_tile[GEMM_VECTORS],
                                                       const int64_t width[GEMM_VECTORS], int64_t col) {
    const cs_online_lse *o = &f->e->online;
    const vf k = f->online_scale, slack = f->online_slack;
    vf col_top[GEMM_VECTORS], col_max[GEMM_VECTORS];
    vi raise = VI_SPLAT(0);
#pragma clang loop unroll(full)
    for (int v = 0; v < GEMM_VECTORS; v++) col_max[v] = VF_SPLAT(-INFINITY);
#pragma clang loop unroll(full)
    for (int r = 0; r < GEMM_MR; r++) {
        if (r >= p->rows) break;
        const vi row = VI_SPLAT(p->row_index[r]);
        const vf limit = VF_SPLAT(p->online_top[r]) + slack;
#pragma clang loop unroll(full)
        for (int v = 0; v < GEMM_VECTORS; v++) {
            const vf x = VF_SELECT((owner[v] != row) & in_tile[v], VF_LOAD(values + r * GEMM_NR + v * LANES),
                                   VF_SPLAT(-INFINITY));
            col_max[v] = VF_MAX(col_max[v], x);
            raise |= x > limit;
        }
    }
#pragma clang loop unroll(full)
    for (int v = 0; v < GEMM_VECTORS; v++) {
        col_top[v] = VF_LOAD_N(o->col_top + col + v * LANES, width[v], -INFINITY);
        raise |= col_max[v] > col_top[v] + slack;
    }
    if (__builtin_reduce_or(raise)) {
        fused_online_raise(f, p, values, owner, in_tile, col_max, col);
#pragma clang loop unroll(full)
        for (int v = 0; v < GEMM_VECTORS; v++) col_top[v] = VF_LOAD_N(o->col_top + col + v * LANES, width[v], -INFINITY);
    }
    vf col_part[GEMM_VECTORS];
#pragma clang loop unroll(full)
    for (int v = 0; v < GEMM_VECTORS; v++) col_part[v] = VF_SPLAT(0.0f);
#pragma clang loop unroll(full)
    for (int r = 0; r < GEMM_MR; r++) {
        if (r >= p->rows) break;
        const vi row = VI_SPLAT(p->row_index[r]);
        const vf top = VF_SPLAT(p->online_top[r]);
        vf row_part = VF_SPLAT(0.0f);
#pragma clang loop unroll(full)
        for (int v = 0; v < GEMM_VECTORS; v++) {
            const vf x = VF_LOAD(values + r * GEMM_NR + v * LANES);
            const vi negative = (owner[v] != row) & in_tile[v];
            // (s − max)·scale, as cs_lse_online: the largest terms stay exact. Terms below e^−86
            // are held there rather than flushed: each adds less than 10⁻³⁷ to a sum of at
            // least 1 (the maximum's own term).
            row_part += VF_SELECT(negative, VF_EXP_IN_RANGE(VF_MAX((x - top) * k, VF_SPLAT(-86.0f))), VF_SPLAT(0.0f));
            col_part[v] += VF_SELECT(negative, VF_EXP_IN_RANGE(VF_MAX((x - col_top[v]) * k, VF_SPLAT(-86.0f))),
                                     VF_SPLAT(0.0f));
        }
        ACCUMULATE_F64(p->online_lo[r], p->online_hi[r], row_part);
    }
#pragma clang loop unroll(full)
    for (int v = 0; v < GEMM_VECTORS; v++) ADD_TO_COLUMNS(o->col_part + col + v * LANES, col_part[v], width[v]);
}

_Static_assert(GEMM_NR <= 32, "a micro-tile row's lanes are offered as one 32-bit set");

/// The cells of a micro-tile (`values`, GEMM_MR × GEMM_NR, first cell tile cell (first, col),
/// `in_tile` the lanes inside the tile, `col_gate` its columns' gates) that pass their row's or
/// their column's gate, offered to the best-k lists as cs_topk offers them (offer_cells). A
/// row's near-tie memory (its last exact similarity) is the rank counts'. The rows that hold a
/// candidate are found first, without a branch per row: a call usually finds one or two of
/// GEMM_MR. Their lanes are taken against the gates at the call's start, which offers in
/// earlier rows may have raised since; offer_cells checks each lane against the gates as they
/// are then.
static __attribute__((noinline)) void fused_top_k(const fused_call *f, fused_panel *p, const float *values,
                                                  const vi in_tile[GEMM_VECTORS], const vf col_gate[GEMM_VECTORS],
                                                  int64_t first, int64_t col) {
    const cs_tile t = f->t;
    const cs_topk_lists top = f->e->top;
    uint32_t lanes[GEMM_MR], rows = 0;
    for (int r = 0; r < GEMM_MR; r++) {
        const vf gate = VF_SPLAT(p->top_gate[r]);
        lanes[r] = 0;
        for (int v = 0; v < GEMM_VECTORS; v++) {
            const vf s = VF_LOAD(values + r * GEMM_NR + v * LANES);
            lanes[r] |= (uint32_t)VI_BITS(((s >= gate) | (s >= col_gate[v])) & in_tile[v]) << (v * LANES);
        }
        rows |= (uint32_t)(lanes[r] != 0 && r < p->rows) << r;
    }
    topk_row x = {t, NULL, NULL, NULL, top.k, NULL, top.col_scores, NULL, top.col_indices,
                  top.col_floor, top.col_gate, f->col_error, 0, -INFINITY, INFINITY, -1, 0};
    for (; rows; rows &= rows - 1) {
        const int r = __builtin_ctz(rows);
        const int64_t q = first + r;
        x.row_scores = top.row_scores + q * top.k;
        x.row_indices = top.row_indices + q * top.k;
        x.row_error = p->top_error[r];
        x.last_column = p->last_column[r];
        x.last_exact = p->last_exact[r];
        p->top_gate[r] = offer_cells(&x, q, col, values + r * GEMM_NR, lanes[r]);
        p->last_column[r] = x.last_column;
        p->last_exact[r] = x.last_exact;
    }
}

/// The epilogue on one micro-tile copied to L1, `values` (GEMM_MR × GEMM_NR), whose first cell
/// is tile cell (first, col), `cols` of its columns in the tile (the panel says how many rows):
/// what cs_count_ranks, cs_lse_fixed_shift (at each temperature asked), cs_lse_online
/// (fused_online_lse), cs_softplus_sum (fused_softplus) and cs_topk (fused_top_k) do over those
/// cells. Most micro-tiles hold no negative that reaches the lower bound of its row's or its
/// column's threshold, and then there is nothing to count; in one that does, cells surely above
/// are counted a vector at a time, and if a cell is near a threshold, fused_rank_counts counts
/// the micro-tile. Each exponential
/// term is summed in Float32 over at most GEMM_NR / LANES columns for its row and GEMM_MR rows
/// for its column before it is widened: each Float32 partial errs by less than GEMM_MR·2⁻²⁴ of
/// its terms' magnitude, inside docs/accuracy.md; the softplus terms likewise over the
/// micro-tile's GEMM_MR·GEMM_NR / LANES vectors. The negatives' s and s² are summed in binary64
/// from the first: the spread of a collapsed set's negatives is their difference, and Float32
/// partials of s² read a last bit of rounding as a spread of 10⁻⁴ (ClosedFormTests).
static inline __attribute__((always_inline)) void fused_micro_tile_as(fused_call *f, fused_panel *p,
                                                                      const float *values, int64_t first, int64_t col,
                                                                      int64_t cols, const int ranks, const int lse) {
    const cs_fused_epilogue *e = f->e;
    const int softplus = e->softplus_sum != NULL, top = e->top.k > 0;
    int64_t width[GEMM_VECTORS];
    vi owner[GEMM_VECTORS], in_tile[GEMM_VECTORS];
    vf col_lower[GEMM_VECTORS];
#pragma clang loop unroll(full)
    for (int v = 0; v < GEMM_VECTORS; v++) {
        const int64_t c = col + v * LANES;
        width[v] = cols <= v * LANES ? 0 : MIN(LANES, cols - v * LANES);
        owner[v] = VI_LOAD_N(e->positive_of_col + c, width[v], 0);
        in_tile[v] = TAIL_MASK(width[v]);
        if (ranks)
            col_lower[v] = VF_FMA(-p->pair_error, VF_LOAD_N(f->t.b_norms + c, width[v], 0.0f),
                                  VF_LOAD_N(e->cols.lower + c, width[v], 0.0f));
    }
    // One pass over the copy in L1 per reducer and temperature: a single pass would hold the
    // state of all and spill it. Partials gather in locals and reach the panel at a pass's end:
    // stores to the column arrays would otherwise make the compiler reload the panel after each.
    vi reach = VI_SPLAT(0);
    vd sum_lo = VD_ZERO, sum_hi = VD_ZERO, squares_lo = VD_ZERO, squares_hi = VD_ZERO;
    if (ranks) {
#pragma clang loop unroll(full)
        for (int r = 0; r < GEMM_MR; r++) {
            if (r >= p->rows) break;
            const vi row = VI_SPLAT(p->row_index[r]);
            const vf lower = VF_SPLAT(p->row_lower[r]);
#pragma clang loop unroll(full)
            for (int v = 0; v < GEMM_VECTORS; v++) {
                const vf x = VF_LOAD(values + r * GEMM_NR + v * LANES);
                const vi negative = (owner[v] != row) & in_tile[v];
                reach |= negative & ((x >= lower) | (x >= col_lower[v]));
                ACCUMULATE_MOMENTS_F64(sum_lo, sum_hi, squares_lo, squares_hi, negative, x);
            }
        }
    }
    for (int64_t t = 0; t < (lse ? e->lse_count : 0); t++) {
        const vf scale = f->scales[t];
        vf col_part[GEMM_VECTORS];
#pragma clang loop unroll(full)
        for (int v = 0; v < GEMM_VECTORS; v++) col_part[v] = VF_SPLAT(0.0f);
#pragma clang loop unroll(full)
        for (int r = 0; r < GEMM_MR; r++) {
            if (r >= p->rows) break;
            const vi row = VI_SPLAT(p->row_index[r]);
            vf row_part = VF_SPLAT(0.0f);
#pragma clang loop unroll(full)
            for (int v = 0; v < GEMM_VECTORS; v++) {
                const vf x = VF_LOAD(values + r * GEMM_NR + v * LANES);
                const vi negative = (owner[v] != row) & in_tile[v];
                const vf term = VF_SELECT(negative, VF_EXP_IN_RANGE(SHIFTED_LOGIT(x, scale)), VF_SPLAT(0.0f));
                row_part += term;
                col_part[v] += term;
            }
            ACCUMULATE_F64(p->lse_lo[t][r], p->lse_hi[t][r], row_part);
        }
#pragma clang loop unroll(full)
        for (int v = 0; v < GEMM_VECTORS; v++) ADD_TO_COLUMNS(e->col_sums[t] + col + v * LANES, col_part[v], width[v]);
    }
    // Best-k lists: most micro-tiles hold no cell that passes its row's or its column's gate.
    // (Lanes past the tile may pass a row's gate; fused_top_k leaves them out.)
    vi candidate = VI_SPLAT(0);
    vf col_gate[GEMM_VECTORS];
    if (top) {
#pragma clang loop unroll(full)
        for (int v = 0; v < GEMM_VECTORS; v++)
            col_gate[v] = e->top.col_scores ? VF_LOAD_N(e->top.col_gate + col + v * LANES, width[v], INFINITY)
                                            : VF_SPLAT(INFINITY);
#pragma clang loop unroll(full)
        for (int r = 0; r < GEMM_MR; r++) {
            if (r >= p->rows) break;
            const vf row_gate = VF_SPLAT(p->top_gate[r]);
#pragma clang loop unroll(full)
            for (int v = 0; v < GEMM_VECTORS; v++) {
                const vf x = VF_LOAD(values + r * GEMM_NR + v * LANES);
                candidate |= (x >= row_gate) | (x >= col_gate[v]);
            }
        }
    }
    const int offers = __builtin_reduce_or(candidate) != 0;
    if (e->online.scale > 0) fused_online_lse(f, p, values, owner, in_tile, width, col);
    if (softplus) fused_softplus(f, p, values, owner, in_tile);
    if (offers) fused_top_k(f, p, values, in_tile, col_gate, first, col);
    if (!ranks) return;
    p->sum_lo += sum_lo;
    p->sum_hi += sum_hi;
    p->squares_lo += squares_lo;
    p->squares_hi += squares_hi;
    if (!__builtin_reduce_or(reach)) return;
    vf col_upper[GEMM_VECTORS];
#pragma clang loop unroll(full)
    for (int v = 0; v < GEMM_VECTORS; v++)
        col_upper[v] = VF_FMA(p->pair_error, VF_LOAD_N(f->t.b_norms + col + v * LANES, width[v], 0.0f),
                              VF_LOAD_N(e->cols.upper + col + v * LANES, width[v], 0.0f));
    vi near = VI_SPLAT(0), row_hits[GEMM_MR], col_hits[GEMM_VECTORS];
#pragma clang loop unroll(full)
    for (int r = 0; r < GEMM_MR; r++) row_hits[r] = VI_SPLAT(0);
#pragma clang loop unroll(full)
    for (int v = 0; v < GEMM_VECTORS; v++) col_hits[v] = VI_SPLAT(0);
#pragma clang loop unroll(full)
    for (int r = 0; r < GEMM_MR; r++) {
        if (r >= p->rows) break;
        const vi row = VI_SPLAT(p->row_index[r]);
        const vf lower = VF_SPLAT(p->row_lower[r]), upper = VF_SPLAT(p->row_upper[r]);
#pragma clang loop unroll(full)
        for (int v = 0; v < GEMM_VECTORS; v++) {
            const vf x = VF_LOAD(values + r * GEMM_NR + v * LANES);
            const vi negative = (owner[v] != row) & in_tile[v];
            const vi row_sure = x > upper, col_sure = x > col_upper[v];
            near |= negative & ((~row_sure & (x >= lower)) | (~col_sure & (x >= col_lower[v])));
            row_hits[r] -= negative & row_sure;
            col_hits[v] -= negative & col_sure;
        }
    }
    if (__builtin_reduce_or(near)) {
        float lower[GEMM_NR], upper[GEMM_NR];
#pragma clang loop unroll(full)
        for (int v = 0; v < GEMM_VECTORS; v++) {
            memcpy(lower + v * LANES, &col_lower[v], sizeof col_lower[v]);
            memcpy(upper + v * LANES, &col_upper[v], sizeof col_upper[v]);
        }
        fused_rank_counts(f, p, values, lower, upper, first, col, cols);
        return;
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < GEMM_MR; r++) p->row_count[r] += row_hits[r];
#pragma clang loop unroll(full)
    for (int v = 0; v < GEMM_VECTORS; v++) {
        int32_t *to = e->col_beaten + col + v * LANES;
        if (width[v] == LANES) {
            VI_STORE(to, VI_LOAD(to) + col_hits[v]);
        } else {
            for (int64_t l = 0; l < width[v]; l++) to[l] += col_hits[v][l];
        }
    }
}

/// fused_micro_tile_as for the reducers the call asks for: out of line, so that the
/// accumulators of the micro-kernel are free before it runs (inline, its state spilled them and
/// half its instructions went to the stack), and specialised so that its tests fold away.
static __attribute__((noinline)) void fused_micro_tile(fused_call *f, fused_panel *p, const float *values,
                                                       int64_t first, int64_t col, int64_t cols) {
    const int ranks = f->e->row_beaten != NULL, lse = f->e->lse_count > 0;
    if (ranks && lse) fused_micro_tile_as(f, p, values, first, col, cols, 1, 1);
    else if (ranks) fused_micro_tile_as(f, p, values, first, col, cols, 1, 0);
    else if (lse) fused_micro_tile_as(f, p, values, first, col, cols, 0, 1);
    else fused_micro_tile_as(f, p, values, first, col, cols, 0, 0);
}

/// A micro-tile of the last depth block with the epilogue fused: its final values (c's partial
/// sum of the earlier blocks plus the product, one Float32 addition as gemm_micro_tile makes
/// it) go through fused_micro_tile from a copy in L1, and to c only if `store`. An edge
/// micro-tile's values beyond the tile are whatever the zero-filled panels give; the epilogue
/// masks them.
static inline __attribute__((always_inline)) void gemm_fused_micro_tile(
    int64_t kc, const float *restrict a_panel, const float *restrict b_panel, float *restrict c, int64_t ldc,
    int accumulate, int store, int64_t rows, int64_t cols, fused_call *f, fused_panel *p, int64_t first, int64_t col,
    const int product_rows) {
    vf acc[GEMM_MR][GEMM_VECTORS];
    gemm_micro_product(kc, a_panel, b_panel, accumulate || store ? c : NULL, ldc, acc, product_rows);
    float values[GEMM_MR * GEMM_NR] __attribute__((aligned(64)));
    const int whole = rows == GEMM_MR && cols == GEMM_NR;
#pragma clang loop unroll(full)
    for (int r = 0; r < GEMM_MR; r++)
#pragma clang loop unroll(full)
        for (int v = 0; v < GEMM_VECTORS; v++) {
            float *to = c + r * ldc + v * LANES;
            if (whole && accumulate) acc[r][v] = VF_LOAD(to) + acc[r][v];
            if (whole && store) memcpy(to, &acc[r][v], sizeof acc[r][v]);
            memcpy(values + r * GEMM_NR + v * LANES, &acc[r][v], sizeof acc[r][v]);
        }
    if (!whole && (accumulate || store)) {
        for (int64_t r = 0; r < rows; r++)
            for (int64_t l = 0; l < cols; l++) {
                float *to = c + r * ldc + l;
                if (accumulate) values[r * GEMM_NR + l] = *to + values[r * GEMM_NR + l];
                if (store) *to = values[r * GEMM_NR + l];
            }
    }
    fused_micro_tile(f, p, values, first, col, cols);
}

/// An edge micro-tile of the last depth block: out of line, so that the fused loop's own code is
/// that of whole micro-tiles, whose shape is constant.
static __attribute__((noinline)) void gemm_fused_edge_micro_tile(
    int64_t kc, const float *restrict a_panel, const float *restrict b_panel, float *restrict c, int64_t ldc,
    int accumulate, int store, int64_t rows, int64_t cols, fused_call *f, fused_panel *p, int64_t first, int64_t col) {
#define FUSED_PRODUCT(product_rows) \
    gemm_fused_micro_tile(kc, a_panel, b_panel, c, ldc, accumulate, store, rows, cols, f, p, first, col, product_rows)
    FOR_EDGE_ROWS(rows, FUSED_PRODUCT);
#undef FUSED_PRODUCT
}

/// The loops of cs_gemm_abt, with the epilogue `fused` (or none) on the last depth block, and
/// the tile stored to c unless `store` is 0 (c then holds only the earlier depth blocks'
/// partial sums, if k has more than one).
static inline __attribute__((always_inline)) void gemm_abt(const float *a, const float *b, float *c, int64_t m, int64_t n,
                                                           int64_t k, int64_t ldc, float *workspace,
                                                           const cs_gemm_packed *packed, fused_call *fused, int store) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int64_t i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    const cs_gemm_blocks blocks = gemm_blocks(k);
    const float *const a_whole = packed && packed->a ? align_floats((float *)packed->a) : NULL;
    const float *const b_whole = packed && packed->b ? align_floats((float *)packed->b) : NULL;
    float *const a_workspace = workspace ? align_floats(workspace) : NULL;
    float *const b_workspace = workspace ? align_floats(a_workspace + round_up(MIN(m, blocks.nc), GEMM_MR) * blocks.kc) : NULL;
    for (int64_t i0 = 0; i0 < m; i0 += blocks.nc) {
        const int64_t rows = MIN(blocks.nc, m - i0);
        for (int64_t k0 = 0; k0 < k; k0 += blocks.kc) {
            const int64_t kc = MIN(blocks.kc, k - k0);
            const int accumulate = k0 > 0;
            fused_call *const fuse = k0 + kc == k ? fused : NULL;
            const float *const a_packed = a_whole ? a_whole + packed_block_offset(m, k0, kc, i0, GEMM_MR) : a_workspace;
            if (!a_whole) pack_panels(a + i0 * k, k, rows, k0, kc, GEMM_MR, a_workspace);
            for (int64_t j0 = 0; j0 < n; j0 += blocks.mc) {
                const int64_t cols = MIN(blocks.mc, n - j0);
                const float *const b_packed = b_whole ? b_whole + packed_block_offset(n, k0, kc, j0, GEMM_NR) : b_workspace;
                if (!b_whole) pack_panels(b + j0 * k, k, cols, k0, kc, GEMM_NR, b_workspace);
                for (int64_t i = 0; i < rows; i += GEMM_MR) {
                    const float *a_panel = a_packed + i * kc;
                    const int64_t tile_rows = MIN(GEMM_MR, rows - i);
                    fused_panel panel;
                    if (fuse) fused_panel_begin(fuse, &panel, i0 + i, tile_rows);
                    for (int64_t j = 0; j < cols; j += GEMM_NR) {
                        const float *b_panel = b_packed + j * kc;
                        float *to = c + (i0 + i) * ldc + j0 + j;
                        const int64_t tile_cols = MIN(GEMM_NR, cols - j);
                        if (fuse) {
                            if (tile_rows == GEMM_MR && tile_cols == GEMM_NR)
                                gemm_fused_micro_tile(kc, a_panel, b_panel, to, ldc, accumulate, store, GEMM_MR, GEMM_NR,
                                                      fuse, &panel, i0 + i, j0 + j, GEMM_MR);
                            else
                                gemm_fused_edge_micro_tile(kc, a_panel, b_panel, to, ldc, accumulate, store, tile_rows,
                                                           tile_cols, fuse, &panel, i0 + i, j0 + j);
                            continue;
                        }
                        if (tile_rows == GEMM_MR && tile_cols == GEMM_NR)
                            gemm_micro_tile(kc, a_panel, b_panel, to, ldc, accumulate, GEMM_MR);
                        else
                            gemm_edge_micro_tile(kc, a_panel, b_panel, to, ldc, accumulate, tile_rows, tile_cols);
                    }
                    if (fuse) fused_panel_end(fuse, &panel, i0 + i);
                }
            }
        }
    }
}

void CS_LEVEL_NAME(cs_gemm_abt)(const float *a, const float *b, float *c, int64_t m, int64_t n, int64_t k,
                                int64_t ldc, float *workspace, const cs_gemm_packed *packed) {
    gemm_abt(a, b, c, m, n, k, ldc, workspace, packed, NULL, 1);
}

void CS_LEVEL_NAME(cs_gemm_abt_fused)(cs_tile t, float *c, int store, float *workspace, const cs_gemm_packed *packed,
                                      const cs_fused_epilogue *e) {
    fused_call call = {t, e, e->row_beaten || e->top.k ? largest_b_norm(t) : 0, 0, {0},
                       VF_SPLAT(e->softplus_scale), VF_SPLAT(e->softplus_bias), 0, 0, 0};
    for (int64_t s = 0; s < e->lse_count; s++) call.scales[s] = VF_SPLAT(e->scales[s]);
    const cs_online_lse online = e->online;
    if (online.scale > 0) {
        call.online_scale = VF_SPLAT((float)online.scale);
        call.online_slack = VF_SPLAT(ONLINE_SLACK / (float)online.scale);
        for (int64_t c = 0; c < t.cols; c++) {
            online.col_top[c] = -INFINITY;
            online.col_part[c] = 0;
        }
    }
    if (e->top.k) {
        call.col_error = column_error(t);
        // The cells offered read their column's list and their x2 row, which the packed
        // operands have pushed out of the caches since the column tile's last row block: one
        // stream ahead of the tile costs less than a miss per offer (offer_cells went from 9.3 %
        // to 7.4 % of a top-k run's samples at N = 65536, D = 32).
        if (e->top.col_scores) {
            open_column_gates(t, call.col_error, e->top.col_floor, e->top.col_gate);
            prefetch_to_l2(e->top.col_scores, t.cols * e->top.k * (int64_t)sizeof(double));
            prefetch_to_l2(e->top.col_indices, t.cols * e->top.k * (int64_t)sizeof(int32_t));
        }
        prefetch_to_l2(t.b, t.cols * t.dim * (int64_t)sizeof(float));
    }
    gemm_abt(t.a, t.b, c, t.rows, t.cols, t.dim, t.ld, workspace, packed, &call, store);
    if (e->moments) {
        e->moments[0] += call.sum;
        e->moments[1] += call.squares;
    }
    if (e->softplus_sum) *e->softplus_sum += call.softplus;
    for (int64_t c = 0; c < (online.scale > 0 ? t.cols : 0); c++)
        fold_lse(online.col_max + c, online.col_sum + c, (double)online.col_top[c] * online.scale, online.col_part[c]);
}

/// The micro-kernel's FMAs without its loads: GEMM_MR × GEMM_VECTORS independent chains, each
/// acc = acc·m + c with m and c in registers, `iterations` times. Timed by `crosssim bench`
/// as the machine's FMA peak at this level (GEMM_MR·GEMM_NR·2 flops an iteration); the sum
/// returned keeps the chains from being dropped. Without FMA a product is an instruction of
/// its own, as in the micro-kernel: acc = acc + a_r·b, one product per accumulator.
float CS_LEVEL_NAME(cs_fma_peak_loop)(int64_t iterations) {
    vf acc[GEMM_MR][GEMM_VECTORS];
    for (int r = 0; r < GEMM_MR; r++)
        for (int v = 0; v < GEMM_VECTORS; v++) acc[r][v] = VF_SPLAT((float)(r * GEMM_VECTORS + v));
#ifdef CS_AVX2_OR_WIDER
    const vf m = VF_SPLAT(0.999999f), c = VF_SPLAT(1e-3f);
    for (int64_t i = 0; i < iterations; i++) {
#pragma clang loop unroll(full)
        for (int r = 0; r < GEMM_MR; r++)
#pragma clang loop unroll(full)
            for (int v = 0; v < GEMM_VECTORS; v++) acc[r][v] = VF_FMA(acc[r][v], m, c);
    }
#else
    // b's halves are made opaque every iteration, so that each row's product a_r·b is
    // computed in the loop as the micro-kernel computes it.
    f32x4 low = {0.5f, 0.5f, 0.5f, 0.5f}, high = low;
    for (int64_t i = 0; i < iterations; i++) {
#if defined(__aarch64__)
        __asm__("" : "+w"(low), "+w"(high));
#else
        __asm__("" : "+x"(low), "+x"(high));
#endif
        const vf b = __builtin_shufflevector(low, high, 0, 1, 2, 3, 4, 5, 6, 7);
#pragma clang loop unroll(full)
        for (int r = 0; r < GEMM_MR; r++)
#pragma clang loop unroll(full)
            for (int v = 0; v < GEMM_VECTORS; v++) acc[r][v] = VF_FMA(VF_SPLAT(1e-3f * (float)(r + 1)), b, acc[r][v]);
    }
#endif
    vf sum = VF_SPLAT(0.0f);
    for (int r = 0; r < GEMM_MR; r++)
        for (int v = 0; v < GEMM_VECTORS; v++) sum += acc[r][v];
    float total = 0;
    for (int l = 0; l < LANES; l++) total += sum[l];
    return total;
}
