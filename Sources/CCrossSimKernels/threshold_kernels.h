// The threshold scan of `crosssim dedup` (docs/dedup.md), compiled once per vector level
// (kernel_levels.h) after epilogue_kernels.h, whose tie-rule helpers it shares.

/// Appends (row offset, column offset, exact similarity) for every cell of the tile whose exact
/// similarity (cs_dot_f64) is ≥ threshold; with upper_only, only cells whose global column is
/// above their global row. A cell's Float32 value is within gamma·‖a‖·‖b‖ of the exact one, so a
/// row's cells below threshold − gamma·‖a‖·max‖b‖ are surely below it; every other cell is
/// decided, and reported, by its exact similarity. Cells go out in row-major order.
int64_t CS_LEVEL_NAME(cs_threshold_cells)(cs_tile t, double threshold, int upper_only,
                                          int32_t *rows, int32_t *cols, double *scores) {
    int64_t found = 0;
    const float b_max = largest_b_norm(t);
    for (int64_t r = 0; r < t.rows; r++) {
        // The first column right of the row's diagonal cell, within the tile.
        const int64_t diagonal_next = t.row0 + r + 1 - t.col0;
        const int64_t first = !upper_only || diagonal_next < 0 ? 0 : MIN(t.cols, diagonal_next);
        const double e = (double)error_bound(t.gamma, t.a_norms[r], b_max);
        const vf lower = VF_SPLAT(float_below(threshold - e));
        const float *s_row = t.data + r * t.ld + first;
        const float *a_row = t.a + r * t.dim;
        FOR_EACH_CHUNK(c, n, t.cols - first,
            const vi near = (vi)(VF_LOAD_N(s_row + c, n, -INFINITY) >= lower);
            if (!__builtin_reduce_or(near)) continue;
            for (int64_t l = 0; l < n; l++) {
                if (!near[l]) continue;
                const int64_t column = first + c + l;
                const double exact = dot_f64(a_row, t.b + column * t.dim, (size_t)t.dim);
                if (exact >= threshold) {
                    rows[found] = (int32_t)r;
                    cols[found] = (int32_t)column;
                    scores[found] = exact;
                    found++;
                }
            }
        );
    }
    return found;
}
