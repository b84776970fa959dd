// The vector level of this process and the entry points that send each call to that
// level's build of the kernel.
#include "CrossSimKernels.h"
#include "float_rounding.h"
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

// MARK: Caches

static cs_cache_sizes cache_sizes;
static pthread_once_t cache_sizes_once = PTHREAD_ONCE_INIT;

#if defined(__linux__)
/// The first line of a small file, without its line end; 0 when it cannot be read.
static int read_line(const char *path, char *line, size_t size) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    const int got = fgets(line, (int)size, f) != NULL;
    fclose(f);
    if (got) line[strcspn(line, "\n")] = 0;
    return got;
}

/// The CPUs in a list such as "0-3,8,10-11".
static int64_t count_cpus(const char *list) {
    int64_t count = 0;
    while (*list) {
        char *end;
        const long first = strtol(list, &end, 10);
        if (end == list) break;
        long last = first;
        if (*end == '-') last = strtol(end + 1, &end, 10);
        count += last >= first ? last - first + 1 : 1;
        list = *end == ',' ? end + 1 : end;
        if (*end != ',') break;
    }
    return count;
}

/// Bytes of cpu0's data (or unified) cache of `level`, and the CPUs sharing it; 0 if /sys
/// does not say.
static int64_t sys_cache_size(int level, int64_t *sharing) {
    char path[96], line[256];
    for (int index = 0; index < 16; index++) {
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", index);
        if (!read_line(path, line, sizeof line)) break;
        if (atoi(line) != level) continue;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", index);
        if (!read_line(path, line, sizeof line) || strcmp(line, "Instruction") == 0) continue;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", index);
        if (!read_line(path, line, sizeof line)) continue;
        char *unit;
        int64_t bytes = strtoll(line, &unit, 10);
        if (*unit == 'K') bytes <<= 10;
        else if (*unit == 'M') bytes <<= 20;
        else if (*unit == 'G') bytes <<= 30;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/shared_cpu_list", index);
        *sharing = read_line(path, line, sizeof line) ? count_cpus(line) : 1;
        return bytes;
    }
    return 0;
}
#endif

/// x when it lies in [lo, hi], else `otherwise`: a size nobody has is a misreading.
static int64_t plausible(int64_t x, int64_t lo, int64_t hi, int64_t otherwise) {
    return x >= lo && x <= hi ? x : otherwise;
}

static void measure_cache_sizes(void) {
    int64_t l1 = 0, l2 = 0, l3 = 0, l3_sharing = 1, per_core_sharing;
#if defined(__linux__)
    l1 = sys_cache_size(1, &per_core_sharing);
    l2 = sys_cache_size(2, &per_core_sharing);
    l3 = sys_cache_size(3, &l3_sharing);
#endif
#if defined(_SC_LEVEL1_DCACHE_SIZE)
    if (l1 <= 0) l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE);
    if (l2 <= 0) l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (l3 <= 0) {
        l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
        l3_sharing = sysconf(_SC_NPROCESSORS_ONLN);
    }
#endif
    cache_sizes.l1 = plausible(l1, 8 << 10, 4 << 20, 32 << 10);
    cache_sizes.l2 = plausible(l2, 64 << 10, 256 << 20, 512 << 10);
    // Without an L3 (or with a share below L2), L2 is the last level this core has alone.
    const int64_t share = plausible(l3, 64 << 10, (int64_t)1 << 34, 0) / (l3_sharing > 0 ? l3_sharing : 1);
    cache_sizes.l3_per_core = share > cache_sizes.l2 ? share : cache_sizes.l2;
}

cs_cache_sizes cs_cache_sizes_of_this_cpu(void) {
    pthread_once(&cache_sizes_once, measure_cache_sizes);
    return cache_sizes;
}
