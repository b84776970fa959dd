#!/usr/bin/env bash
# submit-grad.sh — submit a CrossSim gradient run as three dependent Slurm jobs (docs/gradient.md,
# "Parts"): the eval array (K parts: every row's and column's log-sum-exps), the grad array
# (K parts: each part's x1 rows' gradient and its share of x2's), and the merge of the grad
# parts into OUT/gradient/ (x1.grad.npy, x2.grad.npy, report.json). Each stage starts only
# after every task of the one before exited 0.
#
# Usage:
#   deploy/slurm/submit-grad.sh (--tau T | --siglip S:B) [-k K] [-o OUT] [--wait[=SECS]] X1 X2 [-- SBATCH_OPTION...]
#
#   --tau T, --siglip S:B   the loss (exactly one)
#   -k K                    parts per stage (default 4)
#   -o OUT                  shared output directory (default ./crosssim-grad-out)
#   --wait[=S]              block until the merge job has finished (default at most 3600 s)
#   -- ...                  extra options passed to every sbatch call
#
# Environment: CROSSSIM (as submit.sh finds it), CROSSSIM_EVAL_ARGS and CROSSSIM_GRAD_ARGS (extra
# arguments of each stage, word-split: give --pairs F and --similarity to both), SBATCH.
# Prints "eval=<jobid> grad=<jobid> merge=<jobid>" on stdout.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
K=4
OUT=./crosssim-grad-out
WAIT=""
LOSS=""
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

ARGS=()
while (($#)); do
    case "$1" in
        --tau|--siglip) [[ -z "$LOSS" ]] || { echo "submit-grad.sh: give one loss" >&2; exit 2; }; LOSS="$1 ${2:?}"; shift 2 ;;
        -k) K="${2:?}"; shift 2 ;;
        -o) OUT="${2:?}"; shift 2 ;;
        --wait) WAIT=3600; shift ;;
        --wait=*) WAIT="${1#--wait=}"; shift ;;
        -h|--help) usage ;;
        --) shift; break ;;
        -*) echo "submit-grad.sh: unknown option $1" >&2; usage ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
EXTRA=("$@")
((${#ARGS[@]} == 2)) || usage
[[ -n "$LOSS" ]] || { echo "submit-grad.sh: give the loss: --tau T or --siglip S:B" >&2; exit 2; }
[[ "$K" =~ ^[1-9][0-9]*$ ]] || { echo "submit-grad.sh: K must be a positive integer" >&2; exit 2; }

abspath() { realpath -m -- "$1"; }
X1="$(abspath "${ARGS[0]}")"
X2="$(abspath "${ARGS[1]}")"
OUT="$(abspath "$OUT")"
if [[ -z "${CROSSSIM:-}" ]] && ! command -v crosssim >/dev/null; then
    for built in "$HERE/../../.build/release/crosssim" "$HERE/../../.build/debug/crosssim"; do
        if [[ -x "$built" ]]; then CROSSSIM="$built"; break; fi
    done
    [[ -n "${CROSSSIM:-}" ]] ||
        { echo "submit-grad.sh: crosssim is not on PATH and not built here; export CROSSSIM=/path/to/crosssim" >&2; exit 2; }
fi
CROSSSIM="${CROSSSIM:-crosssim}"
[[ "$CROSSSIM" == */* ]] && CROSSSIM="$(abspath "$CROSSSIM")"
SBATCH="${SBATCH:-sbatch}"
# The eval stage computes the loss among its figures; both stages see the same inputs.
export X1 X2 OUT K CROSSSIM GRAD_LOSS="$LOSS" EVAL_PARTS="$K"
export CROSSSIM_EVAL_ARGS="$LOSS ${CROSSSIM_EVAL_ARGS:-}" CROSSSIM_GRAD_ARGS="${CROSSSIM_GRAD_ARGS:-}"

mkdir -p "$OUT/logs"
rm -rf "$OUT"/part-*.state "$OUT"/grad-*.part "$OUT/gradient"   # stale parts of an earlier run

parsable() { local id; id="$("$SBATCH" --parsable --export=ALL "$@")"; echo "${id%%;*}"; }

eval_id="$(parsable --array="0-$((K - 1))" --output="$OUT/logs/part-%a.out" "${EXTRA[@]}" "$HERE/crosssim-array.sbatch")"
grad_id="$(parsable --array="0-$((K - 1))" --output="$OUT/logs/grad-%a.out" \
    --dependency="afterok:$eval_id" --kill-on-invalid-dep=yes "${EXTRA[@]}" "$HERE/crosssim-grad-array.sbatch")"
merge_id="$(parsable --job-name=crosssim-grad-merge --dependency="afterok:$grad_id" --kill-on-invalid-dep=yes \
    --ntasks=1 --cpus-per-task=1 --output="$OUT/logs/grad-merge.out" "${EXTRA[@]}" <<'SCRIPT'
#!/usr/bin/env bash
set -euo pipefail
parts=()
for ((i = 0; i < K; i++)); do
    f="$OUT/grad-$i.part"
    [[ -f "$f" ]] || { echo "crosssim-grad-merge: missing $f" >&2; exit 1; }
    parts+=("$f")
done
exec "$CROSSSIM" merge "${parts[@]}" --out "$OUT/gradient"
SCRIPT
)"

echo "eval=$eval_id grad=$grad_id merge=$merge_id"
echo "submit-grad.sh: $K + $K parts; gradients and report -> $OUT/gradient/ (logs in $OUT/logs)" >&2

[[ -n "$WAIT" ]] || exit 0
end=$((SECONDS + WAIT))
state=""
while ((SECONDS < end)); do
    state="$(scontrol show job -o "$merge_id" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 || true)"
    case "$state" in
        COMPLETED) echo "submit-grad.sh: merge job $merge_id COMPLETED" >&2; exit 0 ;;
        FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)
            echo "submit-grad.sh: merge job $merge_id $state (see $OUT/logs)" >&2; exit 1 ;;
        "") if [[ -f "$OUT/gradient/x2.grad.npy" ]]; then exit 0; fi ;;
    esac
    sleep 1
done
echo "submit-grad.sh: timed out after ${WAIT}s waiting for merge job $merge_id (state: ${state:-unknown})" >&2
exit 1
