// The epilogue sixteen lanes wide for machines with AVX-512, each kernel named `NAME_wide`;
// epilogue.c's eight-lane kernels hand their calls here when the CPU has it.
#if defined(__x86_64__)
#define CS_LANES 16
#define CS_WIDE_BUILD 1
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c"))), apply_to = function)
#include "epilogue.c"
#pragma clang attribute pop
#endif
