#!/usr/bin/env bash
# Quick start, part 2: installs what the tests need and runs them all. With a one-node Slurm
# cluster (started here, when Debian's packages can be installed) the array-job test
# submits real jobs; everything else needs only the Swift toolchain and two libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
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
swift test --skip-build --disable-swift-testing
