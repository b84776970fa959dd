#!/usr/bin/env bash
# Quick start, part 2: installs what the tests need and runs them all. With a one-node Slurm
# cluster (started here, when Debian's packages can be installed) the array-job test
# submits real jobs; everything else needs only the Swift toolchain, two libraries, numpy
# (the compare tests hold the bootstrap to numpy's) and PyYAML (the Kubernetes manifest's test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if ! python3 -c 'import numpy, yaml' 2>/dev/null; then
    if [[ "$(uname)" == Darwin ]]; then
        python3 -m pip install --quiet --user numpy pyyaml
    else
        sudo=""
        [[ $(id -u) -eq 0 ]] || sudo="sudo"
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-numpy python3-yaml >/dev/null
    fi
fi
if [[ "$(uname)" != Darwin && "${CROSSSIM_SKIP_SLURM:-0}" != 1 ]]; then
    if scripts/slurm-local-cluster.sh start >/dev/null; then
        eval "$(scripts/slurm-local-cluster.sh env)"
        export CROSSSIM_SLURM_TEST=1
        trap 'scripts/slurm-local-cluster.sh stop >/dev/null 2>&1 || true' EXIT
    else
        echo "test.sh: no local Slurm cluster; the array-job test will be skipped" >&2
    fi
fi
swift build --build-tests
# The memory-bound test runs the optimised binary: the debug build's kernels are unoptimised.
swift build -c release --product crosssim --static-swift-stdlib
# The whole suite as this machine runs it by default; then the suites whose figures depend on
# the arithmetic once more on every kernel path the CPU can reach (vector level and OpenBLAS
# core type of the same instruction set), so that a promise does not hold on one CPU only.
swift test --skip-build --disable-swift-testing
suites='ClosedFormTests|EvaluationTests|DeterminismTests|PartsTests|ReaderTests|KernelTests|PerQueryTests|HealthTests|DedupTests|HardNegativeTests|GoldenTests|FusedEpilogueTests|SmallDimensionKernelTests'
while read -r level coretype; do
    echo "test.sh: kernel path CROSSSIM_VECTOR_LEVEL=$level OPENBLAS_CORETYPE=$coretype"
    CROSSSIM_VECTOR_LEVEL=$level OPENBLAS_CORETYPE=$coretype \
        swift test --skip-build --disable-swift-testing --filter "$suites"
done < <(scripts/kernel-paths.sh)
scripts/test-python.sh   # the Python package (python/), in venvs it creates
# The Python examples with real torch and a real model need the local CPU torch wheel; a
# machine without it runs the README blocks that need neither, and says so.
if compgen -G "${CROSSSIM_TORCH_WHEELS:-/opt/wheels}/torch-2.13.0+cpu-*.whl" >/dev/null; then
    scripts/test-python-examples.sh
else
    echo "test.sh: NO local torch wheel: the torch examples are skipped (see scripts/test-python-examples.sh)" >&2
    CROSSSIM_SKIP_TORCH=1 scripts/test-python-examples.sh
fi
