#!/usr/bin/env bash
# Installs the system libraries CrossSim builds against (libzstd, OpenBLAS, pkg-config) on
# Debian or Ubuntu, or with Homebrew on macOS (where the BLAS is Accelerate). Idempotent.
set -euo pipefail
if [[ "$(uname)" == Darwin ]]; then
    pkg-config --exists libzstd || brew install zstd pkg-config
    exit 0
fi
need=()
command -v pkg-config >/dev/null || need+=(pkg-config)
pkg-config --exists libzstd 2>/dev/null || need+=(libzstd-dev)
pkg-config --exists openblas 2>/dev/null || need+=(libopenblas-dev)
[[ ${#need[@]} -eq 0 ]] && exit 0
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${need[@]}" >/dev/null
