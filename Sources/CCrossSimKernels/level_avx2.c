// The kernels for x86-64-v3 (AVX2, FMA, F16C): eight lanes.
#if defined(__x86_64__)
#define CS_LEVEL_SUFFIX _avx2
#define CS_AVX2_OR_WIDER 1
#include "kernel_levels.h"
#include "simd.h"
#include "float_rounding.h"
#include <math.h>
#pragma clang attribute push(__attribute__((target("arch=x86-64-v3"))), apply_to = function)
#include "row_kernels.h"
#include "epilogue_kernels.h"
#include "threshold_kernels.h"
#include "gradient_kernels.h"
#include "gemm_kernels.h"
#pragma clang attribute pop
#endif
