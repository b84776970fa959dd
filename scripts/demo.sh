#!/usr/bin/env bash
# Quick start, part 1: installs what CrossSim needs, builds it, and evaluates the bundled
# real sample (5151 stdlib functions and their docstrings, all-MiniLM-L6-v2, float16 .npy.zst).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The Swift runtime linked in: the binary starts in half the time, and runs on machines
# (cluster nodes) without the toolchain.
swift build -c release --product crosssim --static-swift-stdlib
mkdir -p out
.build/release/crosssim eval data/functions/x1 data/functions/x2 \
    --tau 0.05 0.01 --siglip 10:-10 --top-k 10 --uniformity \
    --json out/functions.json --plot out/functions.svg "$@"
echo
echo "report: out/functions.json, picture: out/functions.svg"
