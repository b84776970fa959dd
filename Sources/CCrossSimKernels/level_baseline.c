// The kernels for any CPU of the architecture: SSE2 on x86-64, NEON on arm64.
#define CS_LEVEL_SUFFIX _baseline
#include "kernel_levels.h"
#include "simd.h"
#include "float_rounding.h"
#include <math.h>
#include "row_kernels.h"
#include "epilogue_kernels.h"
#include "threshold_kernels.h"
#include "gradient_kernels.h"
#include "gemm_kernels.h"
