#!/usr/bin/env bash
# Prints the kernel paths this machine can run, one per line: CROSSSIM_VECTOR_LEVEL and the
# OPENBLAS_CORETYPE of the same instruction set (AVX-512: 2 SkylakeX; AVX2: 1 Haswell, the
# kernels OpenBLAS also runs on AMD Zen; baseline: 0 Prescott, SSE3). On a machine whose flags
# cannot be read (macOS), nothing: its one path is the default run.
set -euo pipefail
[[ -r /proc/cpuinfo && "$(uname -m)" == x86_64 ]] || exit 0
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for f in "$@"; do [[ "$flags" == *" $f "* ]] || return 1; done; }
if has avx512f avx512bw avx512dq avx512vl avx512cd avx2 fma f16c bmi2; then echo "2 SkylakeX"; fi
if has avx2 fma f16c bmi1 bmi2 movbe; then echo "1 Haswell"; fi
echo "0 Prescott"
