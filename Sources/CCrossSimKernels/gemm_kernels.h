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

/// Block sizes for depth k from the caches this process measured (cs_cache_sizes). Half of L1
/// holds the A micro-panel (GEMM_MR × kc), the rest is for B's stream and C; a quarter of L2
/// holds B's packed block (mc × kc: half was 3–5 % slower on a Sapphire Rapids, whose L2 also
/// takes C's lines and the packing's source); half of this CPU's share of L3 holds A's packed
/// block (nc × kc). kc splits k into equal blocks, so that no block is a sliver.
static cs_gemm_blocks gemm_blocks(int64_t k) {
    const cs_cache_sizes caches = cs_cache_sizes_of_this_cpu();
    const int64_t kc_max = caches.l1 / 2 / (GEMM_MR * (int64_t)sizeof(float));
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

/// The micro-kernel: the GEMM_MR×GEMM_NR product of an A micro-panel and a B micro-panel over
/// kc, written to c (row stride ldc) or added to what c holds. The products gather from zero
/// in registers and reach c in one Float32 addition, whichever of the two the caller asks for.
static inline void gemm_micro_tile(int64_t kc, const float *restrict a_panel, const float *restrict b_panel,
                                   float *restrict c, int64_t ldc, int accumulate) {
    // C's lines are fetched for writing while the products run, not when they are stored.
#pragma clang loop unroll(full)
    for (int r = 0; r < GEMM_MR; r++) {
        __builtin_prefetch(c + r * ldc, 1);
        __builtin_prefetch(c + r * ldc + GEMM_NR - 1, 1);
    }
    vf acc[GEMM_MR][GEMM_VECTORS];
#pragma clang loop unroll(full)
    for (int r = 0; r < GEMM_MR; r++)
#pragma clang loop unroll(full)
        for (int v = 0; v < GEMM_VECTORS; v++) acc[r][v] = VF_SPLAT(0.0f);
#pragma clang loop unroll_count(4)
    for (int64_t k = 0; k < kc; k++) {
        vf b[GEMM_VECTORS];
#pragma clang loop unroll(full)
        for (int v = 0; v < GEMM_VECTORS; v++) b[v] = VF_LOAD(b_panel + k * GEMM_NR + v * LANES);
#pragma clang loop unroll(full)
        for (int r = 0; r < GEMM_MR; r++) {
            const vf a = GEMM_BROADCAST(a_panel[k * GEMM_MR + r]);
#pragma clang loop unroll(full)
            for (int v = 0; v < GEMM_VECTORS; v++) acc[r][v] = VF_FMA(a, b[v], acc[r][v]);
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < GEMM_MR; r++)
#pragma clang loop unroll(full)
        for (int v = 0; v < GEMM_VECTORS; v++) {
            float *to = c + r * ldc + v * LANES;
            const vf sum = accumulate ? VF_LOAD(to) + acc[r][v] : acc[r][v];
            memcpy(to, &sum, sizeof sum);
        }
}

void CS_LEVEL_NAME(cs_gemm_abt)(const float *a, const float *b, float *c, int64_t m, int64_t n, int64_t k,
                                int64_t ldc, float *workspace) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int64_t i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    const cs_gemm_blocks blocks = gemm_blocks(k);
    float *const a_packed = align_floats(workspace);
    float *const b_packed = align_floats(a_packed + round_up(MIN(m, blocks.nc), GEMM_MR) * blocks.kc);
    // An edge micro-tile is computed whole into this buffer and its valid part added to c.
    float edge[GEMM_MR * GEMM_NR];
    for (int64_t i0 = 0; i0 < m; i0 += blocks.nc) {
        const int64_t rows = MIN(blocks.nc, m - i0);
        for (int64_t k0 = 0; k0 < k; k0 += blocks.kc) {
            const int64_t kc = MIN(blocks.kc, k - k0);
            const int accumulate = k0 > 0;
            pack_panels(a + i0 * k, k, rows, k0, kc, GEMM_MR, a_packed);
            for (int64_t j0 = 0; j0 < n; j0 += blocks.mc) {
                const int64_t cols = MIN(blocks.mc, n - j0);
                pack_panels(b + j0 * k, k, cols, k0, kc, GEMM_NR, b_packed);
                for (int64_t i = 0; i < rows; i += GEMM_MR) {
                    const float *a_panel = a_packed + i * kc;
                    const int64_t tile_rows = MIN(GEMM_MR, rows - i);
                    for (int64_t j = 0; j < cols; j += GEMM_NR) {
                        const float *b_panel = b_packed + j * kc;
                        float *to = c + (i0 + i) * ldc + j0 + j;
                        const int64_t tile_cols = MIN(GEMM_NR, cols - j);
                        if (tile_rows == GEMM_MR && tile_cols == GEMM_NR) {
                            gemm_micro_tile(kc, a_panel, b_panel, to, ldc, accumulate);
                            continue;
                        }
                        gemm_micro_tile(kc, a_panel, b_panel, edge, GEMM_NR, 0);
                        for (int64_t r = 0; r < tile_rows; r++)
                            for (int64_t col = 0; col < tile_cols; col++)
                                to[r * ldc + col] = accumulate ? to[r * ldc + col] + edge[r * GEMM_NR + col]
                                                               : edge[r * GEMM_NR + col];
                    }
                }
            }
        }
    }
}
