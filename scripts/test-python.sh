#!/usr/bin/env bash
# The Python package's tests. `pip install ./python` (whose build hook builds the Swift
# library, in .build-python) into a venv made here, checked by loading it and evaluating;
# then the wheel of scripts/build-wheel.sh in a fresh venv, where pytest runs all of
# python/tests with the Swift toolchain off PATH. The tests compare with the CLI of the
# release build that scripts/test.sh makes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Debian's python3 makes venvs with pip only with python3-venv.
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq python3-venv >/dev/null
fi
swift build -c release --product crosssim --static-swift-stdlib
cli="$PWD/.build/release/crosssim"
venvs=$(mktemp -d)
trap 'rm -rf "$venvs"' EXIT

echo "test-python.sh: pip install ./python"
python3 -m venv "$venvs/checkout"
"$venvs/checkout/bin/pip" install --quiet numpy ./python
# From the repository's root, where `import crosssim` finds the installed package.
"$venvs/checkout/bin/python" - <<'PYTHON'
import numpy as np, crosssim
x = np.random.default_rng(0).standard_normal((100, 16), dtype=np.float32)
report = crosssim.evaluate(x, x)
assert "site-packages" in crosssim.__file__ and report.retrieval.x1_to_x2.recall[1] == 1.0, crosssim.__file__
print("test-python.sh: installed from the checkout:", crosssim.__file__)
PYTHON

echo "test-python.sh: the wheel, without the Swift toolchain"
wheel=$(scripts/build-wheel.sh | tail -1)
python3 -m venv "$venvs/wheel"
"$venvs/wheel/bin/pip" install --quiet numpy pytest "$wheel"
toolchain=$(dirname "$(command -v swift)")
path_without_swift=$(tr ':' '\n' <<<"$PATH" | grep -vxF "$toolchain" | paste -sd: -)
env PATH="$path_without_swift" bash -c '! command -v swift >/dev/null' || { echo "swift is still on PATH" >&2; exit 1; }
env PATH="$path_without_swift" CROSSSIM_CLI="$cli" "$venvs/wheel/bin/python" -m pytest -q -p no:cacheprovider python/tests
