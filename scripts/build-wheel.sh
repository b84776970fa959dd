#!/usr/bin/env bash
# Writes the Python package as a wheel to dist/ (crosssim-VERSION-py3-none-linux_x86_64.whl):
# the package and libCrossSimC.so with the Swift runtime linked in, so that it installs and
# runs on a machine of the same distribution without the Swift toolchain (it needs libzstd1
# and libopenblas0 from the distribution, and numpy). The build hook (python/setup.py) runs
# `swift build -c release --product CrossSimC -Xswiftc -static-stdlib`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
python3 -m pip wheel --quiet --no-deps --wheel-dir dist ./python
# What the library needs from the system: nothing of Swift's, and nothing missing.
library=$(mktemp -d)
trap 'rm -rf "$library"' EXIT
wheel=$(ls -t dist/crosssim-*.whl | head -1)
python3 -m zipfile -e "$wheel" "$library"
needs=$(ldd "$library/crosssim/lib/libCrossSimC.so")
if grep -Eq 'swift|not found' <<<"$needs"; then
    echo "build-wheel.sh: libCrossSimC.so needs libraries a machine without Swift lacks:" >&2
    echo "$needs" >&2
    exit 1
fi
echo "$wheel"
