// The weights of the loss's gradient, W = dL/dS, one tile at a time, compiled once per vector
// level (kernel_levels.h). The caller multiplies W into both gradients with two sgemms
// (docs/gradient.md). A positive cell's weight comes from the caller, who computed it in
// binary64 from the exact similarity (one positive per column: positive_weight[c]); the
// kernels form the negative cells' weights from the tile's Float32 values.

/// The weight of positive cells (owners[c] == row) from positive_weight, others as given.
#define WITH_POSITIVE_WEIGHTS(w, owners, positive_weight, c, n, row) ({                     \
    vf wpw_ = (w);                                                                         \
    if (owners) wpw_ = VF_SELECT(VI_LOAD_N((owners) + (c), n, -1) == (row),                 \
                                 VF_LOAD_N((positive_weight) + (c), n, 0.0f), wpw_);        \
    wpw_; })

/// Stores the first n lanes of v at p.
#define VF_STORE_N(p, v, n) ({ const vf vsn_v_ = (v); memcpy((p), &vsn_v_, (size_t)(n) * sizeof(float)); })

void CS_LEVEL_NAME(cs_infonce_weights)(cs_tile t, const int32_t *positive_of_col, float scale,
                                       const float *row_shift, const float *row_weight,
                                       const float *col_shift, float col_weight,
                                       const float *positive_weight, float *w, int64_t ldw) {
    const vf k = VF_SPLAT(scale), b = VF_SPLAT(col_weight);
    WITH_AND_WITHOUT(positive_of_col, owners,
    for (int64_t r = 0; r < t.rows; r++) {
        const float *s_row = t.data + r * t.ld;
        float *w_row = w + r * ldw;
        const vi row = VI_SPLAT((int32_t)(t.row0 + r));
        const vf r_shift = VF_SPLAT(-row_shift[r]), a = VF_SPLAT(row_weight[r]);
        FOR_EACH_CHUNK(c, n, t.cols,
            // s·scale − shift rounded once: the shift is the full log-sum-exp, so the argument
            // is ≤ 0 up to rounding and the largest weights keep their precision.
            const vf s = VF_LOAD_N(s_row + c, n, 0.0f);
            const vf by_row = VF_EXP(VF_FMA(s, k, r_shift));
            const vf by_col = VF_EXP(VF_FMA(s, k, -VF_LOAD_N(col_shift + c, n, 0.0f)));
            const vf weight = VF_FMA(a, by_row, b * by_col);
            VF_STORE_N(w_row + c, WITH_POSITIVE_WEIGHTS(weight, owners, positive_weight, c, n, row), n);
        );
    });
}

void CS_LEVEL_NAME(cs_siglip_weights)(cs_tile t, const int32_t *positive_of_col, float scale, float bias,
                                      float negative_weight, const float *positive_weight, float *w, int64_t ldw) {
    const vf k = VF_SPLAT(scale), bias_v = VF_SPLAT(bias), g = VF_SPLAT(negative_weight);
    WITH_AND_WITHOUT(positive_of_col, owners,
    for (int64_t r = 0; r < t.rows; r++) {
        const float *s_row = t.data + r * t.ld;
        float *w_row = w + r * ldw;
        const vi row = VI_SPLAT((int32_t)(t.row0 + r));
        FOR_EACH_CHUNK(c, n, t.cols,
            // sigmoid(x) = e^{min(x, 0)} / (1 + e^{−|x|}), without overflow either way; below
            // e^−86 the exponential is flushed to 0, and so is the weight.
            const vf x = VF_FMA(VF_LOAD_N(s_row + c, n, 0.0f), k, bias_v);
            const vf e = VF_EXP(-__builtin_elementwise_abs(x));
            const vf sigmoid = VF_SELECT(x >= VF_SPLAT(0.0f), VF_SPLAT(1.0f), e) * VF_RECIPROCAL(VF_SPLAT(1.0f) + e);
            VF_STORE_N(w_row + c, WITH_POSITIVE_WEIGHTS(g * sigmoid, owners, positive_weight, c, n, row), n);
        );
    });
}
