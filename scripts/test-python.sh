#!/usr/bin/env bash
# The Python package's tests (python/tests, pytest), twice: installed from the checkout
# (`pip install ./python`, whose build hook builds the Swift library) into a venv made here,
# then from the wheel of scripts/build-wheel.sh in a fresh venv with the Swift toolchain off
# PATH. The Swift release build is the one scripts/test.sh makes (no compile is repeated).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product crosssim   # the CLI whose reports the tests compare with
export CROSSSIM_CLI="$PWD/.build/release/crosssim"
venvs=$(mktemp -d)
trap 'rm -rf "$venvs"' EXIT

echo "test-python.sh: pip install ./python"
python3 -m venv "$venvs/checkout"
"$venvs/checkout/bin/pip" install --quiet numpy pytest
"$venvs/checkout/bin/pip" install --quiet ./python
# From the repository's root, so that `import crosssim` finds the installed package.
"$venvs/checkout/bin/python" -m pytest -q -p no:cacheprovider python/tests

echo "test-python.sh: the wheel, without the Swift toolchain"
wheel=$(scripts/build-wheel.sh | tail -1)
python3 -m venv "$venvs/wheel"
"$venvs/wheel/bin/pip" install --quiet numpy pytest "$wheel"
toolchain=$(dirname "$(command -v swift)")
path_without_swift=$(tr ':' '\n' <<<"$PATH" | grep -vxF "$toolchain" | paste -sd: -)
env PATH="$path_without_swift" bash -c '! command -v swift >/dev/null' || { echo "swift is still on PATH" >&2; exit 1; }
env PATH="$path_without_swift" "$venvs/wheel/bin/python" -m pytest -q -p no:cacheprovider python/tests
