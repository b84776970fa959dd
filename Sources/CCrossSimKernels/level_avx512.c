// The kernels for AVX-512 (F, BW, DQ, VL, CD; x86-64-v4): sixteen lanes. The features are
// named one by one: "arch=x86-64-v4" tunes for 256-bit vectors and splits every vector in two.
#if defined(__x86_64__)
#define CS_LEVEL_SUFFIX _avx512
#define CS_LANES 16
#define CS_AVX2_OR_WIDER 1
#include "kernel_levels.h"
#include "simd.h"
#include "float_rounding.h"
#include <math.h>
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512cd,avx2,fma,f16c,bmi,bmi2,lzcnt,movbe"))), apply_to = function)
#include "row_kernels.h"
#include "epilogue_kernels.h"
#include "threshold_kernels.h"
#include "gradient_kernels.h"
#include "gemm_kernels.h"
#pragma clang attribute pop
#endif
