// The vector level of this process and the entry points that send each call to that
// level's build of the kernel.
#include "CrossSimKernels.h"
#include "float_rounding.h"
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define CS_LEVEL_SUFFIX _baseline
#include "kernel_levels.h"
#undef CS_LEVEL_SUFFIX
#if defined(__x86_64__)
#define CS_LEVEL_SUFFIX _avx2
#include "kernel_levels.h"
#undef CS_LEVEL_SUFFIX
#define CS_LEVEL_SUFFIX _avx512
#include "kernel_levels.h"
#undef CS_LEVEL_SUFFIX
#endif

/// The widest level this CPU runs, and the level in force (at most that).
static int widest_level;
static _Atomic int vector_level;
static pthread_once_t vector_level_once = PTHREAD_ONCE_INIT;

static void detect_vector_level(void) {
    int level = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) level = 2;
    else if (__builtin_cpu_supports("x86-64-v3")) level = 1;
#endif
    widest_level = level;
    const char *cap = getenv("CROSSSIM_VECTOR_LEVEL");
    if (cap && cap[0] >= '0' && cap[0] <= '2' && cap[1] == 0 && cap[0] - '0' < level) level = cap[0] - '0';
    atomic_store_explicit(&vector_level, level, memory_order_relaxed);
}

int cs_cpu_vector_level(void) {
    pthread_once(&vector_level_once, detect_vector_level);
    return atomic_load_explicit(&vector_level, memory_order_relaxed);
}

int cs_use_vector_level(int level) {
    pthread_once(&vector_level_once, detect_vector_level);
    const int used = level < 0 ? 0 : level > widest_level ? widest_level : level;
    atomic_store_explicit(&vector_level, used, memory_order_relaxed);
    return used;
}

#if defined(__x86_64__)
#define CS_PICK(name) ({ const int pick_level_ = cs_cpu_vector_level(); \
    pick_level_ == 2 ? name##_avx512 : pick_level_ == 1 ? name##_avx2 : name##_baseline; })
#else
#define CS_PICK(name) name##_baseline
#endif

#define CS_ENTRY_VOID(name, parameters, arguments) void name parameters { CS_PICK(name) arguments; }
#define CS_ENTRY_RESULT(type, name, parameters, arguments) type name parameters { return CS_PICK(name) arguments; }
CS_LEVEL_KERNELS(CS_ENTRY_VOID, CS_ENTRY_RESULT)

// MARK: Level-independent helpers

void cs_byteswap(void *data, size_t count, size_t width) {
    switch (width) {
    case 2: { uint16_t *p = data; for (size_t i = 0; i < count; i++) p[i] = __builtin_bswap16(p[i]); break; }
    case 4: { uint32_t *p = data; for (size_t i = 0; i < count; i++) p[i] = __builtin_bswap32(p[i]); break; }
    case 8: { uint64_t *p = data; for (size_t i = 0; i < count; i++) p[i] = __builtin_bswap64(p[i]); break; }
    default: break;
    }
}

void cs_f32_bounds(const double *x, size_t n, float *lower, float *upper) {
    for (size_t i = 0; i < n; i++) {
        lower[i] = nextafterf(nextafterf(float_below(x[i]), -INFINITY), -INFINITY);
        upper[i] = nextafterf(nextafterf(float_above(x[i]), INFINITY), INFINITY);
    }
}

float cs_dot_error_bound(int64_t dim) {
    // γ_D bounds |fl(Σ xᵢyᵢ) − Σ xᵢyᵢ| / Σ|xᵢyᵢ| in any order (Higham, Accuracy and Stability,
    // §3.1), and Σ|xᵢyᵢ| ≤ ‖x‖·‖y‖. Four more units cover the rounding of s ± γ·‖x‖·‖y‖ in
    // Float32 and of the norms; the factor 1.01 the bound's own arithmetic.
    const double u = 0x1p-24, du = (double)dim * u;
    if (du >= 0.5) return INFINITY;
    return (float)(1.01 * (du / (1 - du) + 4 * u));
}
