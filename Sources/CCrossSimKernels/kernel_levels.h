// One build of every vector kernel at one level. A level's .c file defines CS_LEVEL_SUFFIX
// (and CS_LANES), sets its instruction set and includes this file; dispatch.c calls the
// build that cs_cpu_vector_level() names. Not include-guarded: dispatch.c includes it once
// per level for the prototypes.
#include "CrossSimKernels.h"

#define CS_CAT_(a, b) a##b
#define CS_CAT(a, b) CS_CAT_(a, b)
#define CS_LEVEL_NAME(name) CS_CAT(name, CS_LEVEL_SUFFIX)

// The kernels built per level: V(name, parameters, arguments) for those returning nothing,
// R(type, name, parameters, arguments) for the others.
#define CS_LEVEL_KERNELS(V, R)                                                                  \
    V(cs_f16_to_f32, (const uint16_t *src, float *dst, size_t n), (src, dst, n))                \
    V(cs_f64_to_f32, (const double *src, float *dst, size_t n), (src, dst, n))                  \
    V(cs_u8_to_f32, (const uint8_t *src, float *dst, size_t n), (src, dst, n))                  \
    V(cs_i8_to_f32, (const int8_t *src, float *dst, size_t n), (src, dst, n))                   \
    R(int64_t, cs_prepare_rows,                                                                 \
      (float *x, size_t rows, size_t dim, int normalize, float *squared_norms, int *problem),   \
      (x, rows, dim, normalize, squared_norms, problem))                                        \
    R(double, cs_dot_f64, (const float *a, const float *b, size_t dim), (a, b, dim))            \
    R(double, cs_squared_distance_f64, (const float *a, const float *b, size_t dim), (a, b, dim)) \
    V(cs_add_rows_f64, (const float *x, size_t rows, size_t dim, double *sum), (x, rows, dim, sum)) \
    V(cs_row_norms, (const float *x, size_t rows, size_t dim, float *norms), (x, rows, dim, norms)) \
    V(cs_count_ranks,                                                                           \
      (cs_tile t, cs_thresholds rows, cs_thresholds cols, int32_t *row_beaten, int32_t *col_beaten, \
       double *moments),                                                                        \
      (t, rows, cols, row_beaten, col_beaten, moments))                                         \
    V(cs_lse_fixed_shift,                                                                       \
      (cs_tile t, const int32_t *positive_of_col, float scale, double *row_sum, double *col_sum, \
       float *column_part),                                                                     \
      (t, positive_of_col, scale, row_sum, col_sum, column_part))                               \
    V(cs_lse_online,                                                                            \
      (cs_tile t, const int32_t *positive_of_col, double scale, double *row_max, double *row_sum, \
       double *col_max, double *col_sum, float *col_max_scratch, double *col_sum_scratch,       \
       float *column_part),                                                                     \
      (t, positive_of_col, scale, row_max, row_sum, col_max, col_sum, col_max_scratch,          \
       col_sum_scratch, column_part))                                                           \
    R(double, cs_softplus_sum, (cs_tile t, const int32_t *positive_of_col, float scale, float bias), \
      (t, positive_of_col, scale, bias))                                                        \
    V(cs_histogram,                                                                             \
      (cs_tile t, const int32_t *positive_of_col, float lo, float hi, int64_t bins,             \
       uint64_t *negative, uint64_t *positive),                                                 \
      (t, positive_of_col, lo, hi, bins, negative, positive))                                   \
    V(cs_topk,                                                                                  \
      (cs_tile t, const int32_t *positive_of_col, const cs_thresholds *row_ceiling,             \
       const cs_thresholds *col_ceiling, int64_t k, double *row_scores, int32_t *row_indices,    \
       double *col_scores, int32_t *col_indices, float *col_floor, float *col_gate),            \
      (t, positive_of_col, row_ceiling, col_ceiling, k, row_scores, row_indices, col_scores,    \
       col_indices, col_floor, col_gate))                                                       \
    V(cs_topk_seed_column_floors,                                                               \
      (cs_tile t, const int32_t *positive_of_col, int64_t k, float *col_floor),                 \
      (t, positive_of_col, k, col_floor))                                                       \
    V(cs_uniformity,                                                                            \
      (cs_tile t, const float *squared_norm_rows, const float *squared_norm_cols, double *max,  \
       double *sum),                                                                            \
      (t, squared_norm_rows, squared_norm_cols, max, sum))                                      \
    R(int64_t, cs_threshold_cells,                                                              \
      (cs_tile t, double threshold, int upper_only, int32_t *rows, int32_t *cols, double *scores), \
      (t, threshold, upper_only, rows, cols, scores))                                          \
    V(cs_infonce_weights,                                                                       \
      (cs_tile t, const int32_t *positive_of_col, float scale, const float *row_shift,          \
       const float *row_weight, const float *col_shift, float col_weight,                       \
       const float *positive_weight, float *w, int64_t ldw),                                    \
      (t, positive_of_col, scale, row_shift, row_weight, col_shift, col_weight, positive_weight, w, ldw)) \
    V(cs_siglip_weights,                                                                        \
      (cs_tile t, const int32_t *positive_of_col, float scale, float bias, float negative_weight, \
       const float *positive_weight, float *w, int64_t ldw),                                    \
      (t, positive_of_col, scale, bias, negative_weight, positive_weight, w, ldw))                \
    R(cs_gemm_blocks, cs_gemm_blocks_for, (int64_t k), (k))                                      \
    R(size_t, cs_gemm_workspace_floats, (int64_t m, int64_t n, int64_t k), (m, n, k))            \
    R(size_t, cs_gemm_packed_floats, (int64_t rows, int64_t k, cs_gemm_operand operand),        \
      (rows, k, operand))                                                                       \
    V(cs_gemm_pack, (const float *x, int64_t rows, int64_t k, cs_gemm_operand operand, float *packed), \
      (x, rows, k, operand, packed))                                                            \
    V(cs_gemm_abt,                                                                              \
      (const float *a, const float *b, float *c, int64_t m, int64_t n, int64_t k, int64_t ldc,    \
       float *workspace, const cs_gemm_packed *packed),                                         \
      (a, b, c, m, n, k, ldc, workspace, packed))                                               \
    V(cs_gemm_abt_fused,                                                                        \
      (cs_tile t, float *c, int store, float *workspace, const cs_gemm_packed *packed,           \
       const cs_fused_epilogue *e),                                                             \
      (t, c, store, workspace, packed, e))                                                      \
    R(float, cs_fma_peak_loop, (int64_t iterations), (iterations))

#define CS_DECLARE_VOID(name, parameters, arguments) void CS_LEVEL_NAME(name) parameters;
#define CS_DECLARE_RESULT(type, name, parameters, arguments) type CS_LEVEL_NAME(name) parameters;
CS_LEVEL_KERNELS(CS_DECLARE_VOID, CS_DECLARE_RESULT)
#undef CS_DECLARE_VOID
#undef CS_DECLARE_RESULT
