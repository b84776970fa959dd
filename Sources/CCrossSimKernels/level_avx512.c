// The kernels for AVX-512 (F, BW, DQ, VL): sixteen lanes.
#if defined(__x86_64__)
#define CS_LEVEL_SUFFIX _avx512
#define CS_LANES 16
#include "kernel_levels.h"
#include "simd.h"
#include <math.h>
#pragma clang attribute push(__attribute__((target("arch=x86-64-v4"))), apply_to = function)
#include "row_kernels.h"
#include "epilogue_kernels.h"
#pragma clang attribute pop
#endif
