#!/usr/bin/env bash
# Builds CrossSim's libFuzzer targets (Fuzz/) and runs each for a while, one at a time, at
# the lowest CPU priority, then prints the executions per target.
#
#   scripts/fuzz.sh [seconds-per-target] [target ...]
#
# Targets: npy fbin f16bin u8bin i8bin zstd manifest pairs state (default: all, in that order).
# Seeds come from Tests/Fixtures/fuzz/<target>/ (valid and broken files, and every past finding
# as regression-*, in the target's input layout); the growing corpus is kept
# in $SCRATCH/corpus/<target>, and whatever a target finds (crash-*, timeout-*, oom-*, leak-*)
# in $SCRATCH/artifacts/<target>/. Reproduce a finding with
#   $SCRATCH/release/fuzz-readers <target> $SCRATCH/artifacts/<target>/crash-...
# and turn it into a regression file with CROSSSIM_FUZZ_MATERIALIZE=DIR (see
# Fuzz/Sources/FuzzSupport/Harness.swift). Exit status: 0 when nothing was found, 1 otherwise.
#
# Environment: CROSSSIM_FUZZ_SCRATCH (default .build-fuzz), CROSSSIM_FUZZ_FLAGS (extra
# libFuzzer flags), CROSSSIM_FUZZ_NO_BUILD=1 (reuse the built targets).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(npy fbin f16bin u8bin i8bin zstd manifest pairs state)
SCRATCH=${CROSSSIM_FUZZ_SCRATCH:-$ROOT/.build-fuzz}
FIXTURES=$ROOT/Tests/Fixtures

# Swift 6.3 on Linux: -sanitize=fuzzer,address instruments the Swift code (the library and the
# harnesses) and links libFuzzer; the C kernels get the same through -Xcc; -parse-as-library
# because the harnesses have no top-level code (their `main` is libFuzzer's driver, see
# Fuzz/Sources/FuzzSupport/Driver.swift).
if [ "${CROSSSIM_FUZZ_NO_BUILD:-0}" != 1 ]; then
    echo "building the fuzz targets in $SCRATCH ..." >&2
    nice -n 19 swift build -c release --package-path "$ROOT/Fuzz" --scratch-path "$SCRATCH" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
        -Xcc -fsanitize=fuzzer-no-link,address >&2
fi
EXE=$SCRATCH/release/fuzz-readers
[ -x "$EXE" ] || { echo "no $EXE: build it first (run without CROSSSIM_FUZZ_NO_BUILD)" >&2; exit 2; }

max_len() {
    case $1 in
        npy|zstd) echo 4096 ;;
        fbin|f16bin|u8bin|i8bin|manifest) echo 1024 ;;
        pairs) echo 2048 ;;
        state) echo 8192 ;;
    esac
}
dictionary() {
    case $1 in
        npy|zstd|pairs) echo "-dict=$ROOT/Fuzz/dictionaries/npy.dict" ;;
        manifest) echo "-dict=$ROOT/Fuzz/dictionaries/manifest.dict" ;;
        state) echo "-dict=$ROOT/Fuzz/dictionaries/state.dict" ;;
    esac
}

found=0
summary=()
total=0
for target in "${TARGETS[@]}"; do
    [ -n "$(max_len "$target")" ] || { echo "no fuzz target '$target'" >&2; exit 2; }
    corpus=$SCRATCH/corpus/$target
    artifacts=$SCRATCH/artifacts/$target
    mkdir -p "$corpus" "$artifacts"
    seeds=("$FIXTURES/fuzz/$target")
    log=$SCRATCH/fuzz-$target.log
    echo "fuzzing $target for ${PER_TARGET}s (log: $log) ..." >&2
    : >"$log"
    started=$(date +%s)
    execs=0 stalls=0 real=0 status=0 part=0
    # One process at a time, lowest priority: others may be benchmarking on this machine. A
    # finding ends libFuzzer's run; a timeout (or slow unit) that does not happen again when its
    # input is re-run was the machine stalling (a VM paused for tens of seconds), not CrossSim:
    # it is set aside in artifacts/<target>/stalls/ and fuzzing resumes for the time left.
    while :; do
        left=$((PER_TARGET - ($(date +%s) - started)))
        [ $left -ge 5 ] || break
        part=$((part + 1))
        sub=$log.$part
        marker=$SCRATCH/.fuzz-start-$target
        touch "$marker"
        set +e
        # SWIFT_BACKTRACE=enable=no: Swift's own crash reporter would run before libFuzzer's
        # handler (and trip AddressSanitizer), so that no test case would be saved.
        SWIFT_BACKTRACE=enable=no CROSSSIM_FIXTURES=$FIXTURES nice -n 19 "$EXE" "$target" "$corpus" "${seeds[@]}" \
            -max_total_time="$left" -timeout=5 -rss_limit_mb=2048 -max_len="$(max_len "$target")" \
            $(dictionary "$target") -artifact_prefix="$artifacts/" -print_final_stats=1 \
            ${CROSSSIM_FUZZ_FLAGS:-} >"$sub" 2>&1 &
        pid=$!
        wait $pid
        status=$?
        set -e
        # The harness's scratch directory (under /dev/shm) survives a crash of the process.
        rm -rf "/dev/shm/crosssim-fuzz-$pid"
        n=$(grep -oE 'stat::number_of_executed_units: +[0-9]+' "$sub" | tail -1 | grep -oE '[0-9]+$' || true)
        # A run that ended on a finding prints no final stats: take its last status line.
        [ -n "$n" ] && [ $status -eq 0 ] || n=$(grep -oE '^#[0-9]+' "$sub" | tail -1 | tr -d '#' || true)
        execs=$((execs + ${n:-0}))
        cat "$sub" >>"$log" && rm -f "$sub"
        echo "---- end of run $part (exit $status, ${n:-0} executions)" >>"$log"
        new=$(find "$artifacts" -maxdepth 1 -type f -newer "$marker")
        for f in $new; do
            case $(basename "$f") in
                timeout-*|slow-unit-*)
                    if SWIFT_BACKTRACE=enable=no CROSSSIM_FIXTURES=$FIXTURES timeout 60 nice -n 19 "$EXE" "$target" -timeout=5 -runs=3 "$f" \
                        >>"$log" 2>&1; then
                        mkdir -p "$artifacts/stalls"
                        mv "$f" "$artifacts/stalls/"
                        echo "---- $(basename "$f") runs in time when repeated: a stall of the machine, set aside" >>"$log"
                        stalls=$((stalls + 1))
                        continue
                    fi ;;
            esac
            real=1
        done
        [ $status -ne 0 ] && [ -z "$new" ] && real=1   # stopped without saying why
        [ $real -eq 0 ] && [ $status -ne 0 ] || break
    done
    rm -f "$SCRATCH/.fuzz-start-$target"
    seconds=$(($(date +%s) - started))
    rate=$((execs / (seconds > 0 ? seconds : 1)))
    total=$((total + execs))
    verdict="ok"
    [ $stalls -eq 0 ] || verdict="ok ($stalls machine stalls set aside)"
    if [ $real -ne 0 ]; then
        verdict="FOUND (see $artifacts and $log)"
        found=1
        grep -E '^==[0-9]+== ?ERROR|SUMMARY|Fatal error|deadly signal|out-of-memory' "$log" | head -5 >&2 || true
    fi
    summary+=("$(printf '%-9s %12s executions  %6s exec/s  corpus %5s  %s' "$target" "$execs" "$rate" "$(ls "$corpus" | wc -l)" "$verdict")")
done

echo
printf '%s\n' "${summary[@]}"
printf '%-9s %12s executions\n' "total" "$total"
exit $found
