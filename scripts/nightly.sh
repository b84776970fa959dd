#!/usr/bin/env bash
# The README's nightly job, runnable: evaluates tonight's embeddings (x1 against X2) with
# per-query results, redraws the trend of every night so far, compares the report with the
# last good one (exit 3 on a regression that is more than ordering noise) and keeps it as the
# last good one when it passes.
#
#   scripts/nightly.sh X2 [DIR]      (DIR defaults to out/nightly; CROSSSIM names the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
crosssim=${CROSSSIM:-.build/release/crosssim}
x2=$1 dir=${2:-out/nightly}
night=$(date -u +%Y-%m-%dT%H%M%S)
mkdir -p "$dir/reports" "$dir/compare"
"$crosssim" eval data/functions/x1 "$x2" --per-query "$dir/reports/$night.per-query" \
    --json "$dir/reports/$night.json" --quiet > /dev/null
"$crosssim" trend "$dir"/reports/*.json --out "$dir/trend.svg"
if [[ -e $dir/last-good.json ]]; then
    "$crosssim" compare "$dir/last-good.json" "$dir/reports/$night.json" --fail-on-regression \
        --json "$dir/compare/$night.json" --plot "$dir/compare/$night.svg"
fi
cp "$dir/reports/$night.json" "$dir/last-good.json"
