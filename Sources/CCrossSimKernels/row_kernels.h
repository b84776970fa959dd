// Conversions and per-row work done while reading shards and before the tiles run, compiled
// once per vector level (kernel_levels.h).

/// Eight Float32 values and four binary64 ones: the fixed shape of the binary64 sums below,
/// whatever LANES is, so that they add in the same order (and give the same bits) at every
/// vector level and on every machine.
typedef float f32x8 __attribute__((vector_size(32)));
typedef double f64x4 __attribute__((vector_size(32)));

/// The (up to) eight values at p, zeros after the first n.
#define LOAD8(p, n) ({ f32x8 load8_v_ = {}; memcpy(&load8_v_, (p), ((n) < 8 ? (n) : 8) * sizeof(float)); load8_v_; })
#define LOW4(v) __builtin_convertvector(__builtin_shufflevector((v), (v), 0, 1, 2, 3), f64x4)
#define HIGH4(v) __builtin_convertvector(__builtin_shufflevector((v), (v), 4, 5, 6, 7), f64x4)
/// Runs the statements after `y` with x and y the next eight values of a and b, the last
/// chunk zero-filled: full chunks load with a constant size (no library call per chunk).
#define EACH_EIGHT(a, b, dim, x, y, ...) do {                                              \
    size_t each_d_ = 0;                                                                  \
    for (; each_d_ + 8 <= (dim); each_d_ += 8) {                                         \
        f32x8 x, y;                                                                      \
        memcpy(&x, (a) + each_d_, sizeof x);                                             \
        memcpy(&y, (b) + each_d_, sizeof y);                                             \
        __VA_ARGS__                                                                      \
    }                                                                                    \
    if (each_d_ < (dim)) {                                                               \
        const f32x8 x = LOAD8((a) + each_d_, (dim) - each_d_), y = LOAD8((b) + each_d_, (dim) - each_d_); \
        __VA_ARGS__                                                                      \
    }                                                                                    \
} while (0)
#define SUM8(lo, hi) ({ const f64x4 sum8_s_ = (lo) + (hi); (sum8_s_[0] + sum8_s_[1]) + (sum8_s_[2] + sum8_s_[3]); })

typedef _Float16 v8h __attribute__((vector_size(16)));

void CS_LEVEL_NAME(cs_f16_to_f32)(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8h h;
        memcpy(&h, src + i, sizeof h);
        const f32x8 f = __builtin_convertvector(h, f32x8);
        memcpy(dst + i, &f, sizeof f);
    }
    for (; i < n; i++) {
        _Float16 h;
        memcpy(&h, src + i, sizeof h);
        dst[i] = (float)h;
    }
}

void CS_LEVEL_NAME(cs_f64_to_f32)(const double *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = (float)src[i];
}

typedef uint8_t v8u8 __attribute__((vector_size(8)));
typedef int8_t v8i8 __attribute__((vector_size(8)));

/// Eight bytes at a time through a vector conversion, then the tail one by one: every value
/// of a byte is exact in Float32.
#define BYTES_TO_F32(vector_type, element_type, src, dst, n) do {               \
    size_t i_ = 0;                                                              \
    for (; i_ + 8 <= (n); i_ += 8) {                                            \
        vector_type bytes_;                                                     \
        memcpy(&bytes_, (src) + i_, sizeof bytes_);                             \
        const f32x8 f_ = __builtin_convertvector(bytes_, f32x8);                \
        memcpy((dst) + i_, &f_, sizeof f_);                                     \
    }                                                                           \
    for (; i_ < (n); i_++) (dst)[i_] = (float)(element_type)(src)[i_];          \
} while (0)

void CS_LEVEL_NAME(cs_u8_to_f32)(const uint8_t *src, float *dst, size_t n) {
    BYTES_TO_F32(v8u8, uint8_t, src, dst, n);
}

void CS_LEVEL_NAME(cs_i8_to_f32)(const int8_t *src, float *dst, size_t n) {
    BYTES_TO_F32(v8i8, int8_t, src, dst, n);
}


/// Products of two Float32 values are exact in binary64, so an FMA changes nothing here.
static inline __attribute__((always_inline)) double dot_f64(const float *a, const float *b, size_t dim) {
    // Two chains of accumulators: a near tie is recomputed with this, so its latency matters.
    f64x4 lo[2] = {}, hi[2] = {};
    size_t d = 0;
    for (; d + 16 <= dim; d += 16) {
        for (int k = 0; k < 2; k++) {
            f32x8 x, y;
            memcpy(&x, a + d + 8 * k, sizeof x);
            memcpy(&y, b + d + 8 * k, sizeof y);
            lo[k] += LOW4(x) * LOW4(y);
            hi[k] += HIGH4(x) * HIGH4(y);
        }
    }
    EACH_EIGHT(a + d, b + d, dim - d, x, y,
        lo[0] += LOW4(x) * LOW4(y);
        hi[0] += HIGH4(x) * HIGH4(y);
    );
    return SUM8(lo[0] + lo[1], hi[0] + hi[1]);
}

int64_t CS_LEVEL_NAME(cs_prepare_rows)(float *x, size_t rows, size_t dim, int normalize,
                                  float *squared_norms, int *problem) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * dim;
        // A binary64 sum of Float32 squares is finite exactly when every value is.
        const double s = dot_f64(row, row, dim);
        if (!isfinite(s)) { *problem = CS_ROW_NOT_FINITE; return (int64_t)r; }
        if (normalize) {
            if (s == 0) { *problem = CS_ROW_ZERO; return (int64_t)r; }
            const double inverse = 1.0 / sqrt(s);
            for (size_t d = 0; d < dim; d++) row[d] = (float)((double)row[d] * inverse);
        }
        if (squared_norms) squared_norms[r] = (float)(normalize ? dot_f64(row, row, dim) : s);
    }
    return -1;
}

/// Whether tile columns c and last (−1: none yet) hold the same values: by their classes where
/// the tile carries them, else by comparing the values.
static inline int same_column(cs_tile t, int64_t c, int64_t last) {
    if (last < 0) return 0;
    if (t.b_class) return t.b_class[c] == t.b_class[last];
    return memcmp(t.b + c * t.dim, t.b + last * t.dim, (size_t)t.dim * sizeof(float)) == 0;
}

double CS_LEVEL_NAME(cs_dot_f64)(const float *a, const float *b, size_t dim) {
    return dot_f64(a, b, dim);
}

double CS_LEVEL_NAME(cs_squared_distance_f64)(const float *a, const float *b, size_t dim) {
    // (x − y)² is not exact: an FMA would change the bits from one level to another.
#pragma clang fp contract(off)
    f64x4 lo = {}, hi = {};
    EACH_EIGHT(a, b, dim, x, y,
        const f64x4 l = LOW4(x) - LOW4(y), h = HIGH4(x) - HIGH4(y);
        lo += l * l;
        hi += h * h;
    );
    return SUM8(lo, hi);
}

void CS_LEVEL_NAME(cs_add_rows_f64)(const float *x, size_t rows, size_t dim, double *sum) {
    for (size_t r = 0; r < rows; r++)
        for (size_t d = 0; d < dim; d++) sum[d] += (double)x[r * dim + d];
}

void CS_LEVEL_NAME(cs_row_norms)(const float *x, size_t rows, size_t dim, float *norms) {
    for (size_t r = 0; r < rows; r++) {
        norms[r] = float_above(sqrt(dot_f64(x + r * dim, x + r * dim, dim)));
    }
}
