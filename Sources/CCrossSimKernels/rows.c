// Conversions and per-row work done while reading shards and before the tiles run.
#include "CrossSimKernels.h"
#include "simd.h"
#include <math.h>
#include <stdlib.h>

static int detect_vector_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}

int cs_cpu_vector_level(void) {
    // Detected once; every later call is a load and a compare. CROSSSIM_VECTOR_LEVEL caps it,
    // so that the eight-lane kernels can be run (and tested) on an AVX-512 machine.
    static int level = -1;
    if (level < 0) {
        int detected = detect_vector_level();
        const char *cap = getenv("CROSSSIM_VECTOR_LEVEL");
        if (cap && *cap >= '0' && *cap <= '2' && *cap - '0' < detected) detected = *cap - '0';
        level = detected;
    }
    return level;
}

typedef _Float16 v8h __attribute__((vector_size(16)));

CS_KERNEL void cs_f16_to_f32(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8h h;
        memcpy(&h, src + i, sizeof h);
        const vf f = __builtin_convertvector(h, vf);
        memcpy(dst + i, &f, sizeof f);
    }
    for (; i < n; i++) {
        _Float16 h;
        memcpy(&h, src + i, sizeof h);
        dst[i] = (float)h;
    }
}

CS_KERNEL void cs_f64_to_f32(const double *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = (float)src[i];
}

void cs_byteswap(void *data, size_t count, size_t width) {
    switch (width) {
    case 2: { uint16_t *p = data; for (size_t i = 0; i < count; i++) p[i] = __builtin_bswap16(p[i]); break; }
    case 4: { uint32_t *p = data; for (size_t i = 0; i < count; i++) p[i] = __builtin_bswap32(p[i]); break; }
    case 8: { uint64_t *p = data; for (size_t i = 0; i < count; i++) p[i] = __builtin_bswap64(p[i]); break; }
    default: break;
    }
}

static inline __attribute__((always_inline)) double dot_f64(const float *a, const float *b, size_t dim) {
    vd lo = VD_ZERO, hi = VD_ZERO;
    for (size_t d = 0; d < dim; d += LANES) {
        const int64_t n = MIN(LANES, (int64_t)(dim - d));
        const vf x = VF_LOAD_N(a + d, n, 0.0f), y = VF_LOAD_N(b + d, n, 0.0f);
        lo += VF_LOW_F64(x) * VF_LOW_F64(y);
        hi += VF_HIGH_F64(x) * VF_HIGH_F64(y);
    }
    return VD_PAIR_SUM(lo, hi);
}

CS_KERNEL int64_t cs_prepare_rows(float *x, size_t rows, size_t dim, int normalize,
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

CS_KERNEL double cs_dot_f64(const float *a, const float *b, size_t dim) {
    return dot_f64(a, b, dim);
}

CS_KERNEL double cs_squared_distance_f64(const float *a, const float *b, size_t dim) {
    vd lo = VD_ZERO, hi = VD_ZERO;
    for (size_t d = 0; d < dim; d += LANES) {
        const int64_t n = MIN(LANES, (int64_t)(dim - d));
        const vf x = VF_LOAD_N(a + d, n, 0.0f), y = VF_LOAD_N(b + d, n, 0.0f);
        const vd l = VF_LOW_F64(x) - VF_LOW_F64(y), h = VF_HIGH_F64(x) - VF_HIGH_F64(y);
        lo += l * l;
        hi += h * h;
    }
    return VD_PAIR_SUM(lo, hi);
}

CS_KERNEL void cs_add_rows_f64(const float *x, size_t rows, size_t dim, double *sum) {
    for (size_t r = 0; r < rows; r++)
        for (size_t d = 0; d < dim; d++) sum[d] += (double)x[r * dim + d];
}
