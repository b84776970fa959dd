#!/usr/bin/env bash
# submit.sh — submit a CrossSim array job (K parts) plus a merge job that runs after all parts succeed.
#
# Usage:
#   deploy/slurm/submit.sh [-k K] [-o OUT] [--wait[=SECS]] X1 X2 [-- SBATCH_OPTION...]
#
#   -k K          number of parts = array tasks (default 4)
#   -o OUT        shared output directory (default ./crosssim-out); part-I.state, report.json and
#                 logs/ go there. It must be visible to every compute node.
#   --wait[=S]    block until the merge job has finished (default at most 3600 s); exit 0 only
#                 if it COMPLETED
#   -- ...        extra options passed to both sbatch calls (e.g. --partition=short --time=01:00:00)
#
# Environment:
#   CROSSSIM            crosssim binary used inside the jobs (default: `crosssim` on PATH, else this
#                       checkout's .build/release/crosssim or .build/debug/crosssim); a relative
#                       path is made absolute here. Nodes must see the same path.
#   CROSSSIM_EVAL_ARGS  extra arguments for `crosssim eval` (word-split)
#   SBATCH              sbatch binary (default sbatch); SLURM_CONF etc. are honoured as usual
#
# Prints "array=<jobid> merge=<jobid>" on stdout. Result: $OUT/report.json.
# The merge job is submitted with --dependency=afterok:<array> --kill-on-invalid-dep=yes, so if
# any part fails the merge job is cancelled instead of pending forever.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
K=4
OUT=./crosssim-out
WAIT=""
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

ARGS=()
while (($#)); do
    case "$1" in
        -k) K="${2:?}"; shift 2 ;;
        -k*) K="${1#-k}"; shift ;;
        -o) OUT="${2:?}"; shift 2 ;;
        -o*) OUT="${1#-o}"; shift ;;
        --wait) WAIT=3600; shift ;;
        --wait=*) WAIT="${1#--wait=}"; shift ;;
        -h|--help) usage ;;
        --) shift; break ;;
        -*) echo "submit.sh: unknown option $1" >&2; usage ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
EXTRA=("$@")
((${#ARGS[@]} == 2)) || usage
[[ "$K" =~ ^[1-9][0-9]*$ ]] || { echo "submit.sh: K must be a positive integer" >&2; exit 2; }

abspath() { realpath -m -- "$1"; }
X1="$(abspath "${ARGS[0]}")"
X2="$(abspath "${ARGS[1]}")"
OUT="$(abspath "$OUT")"
if [[ -z "${CROSSSIM:-}" ]] && ! command -v crosssim >/dev/null; then
    # Not installed: the binary built in this checkout (`swift build [-c release]`), if any.
    for built in "$HERE/../../.build/release/crosssim" "$HERE/../../.build/debug/crosssim"; do
        if [[ -x "$built" ]]; then CROSSSIM="$built"; break; fi
    done
    [[ -n "${CROSSSIM:-}" ]] ||
        { echo "submit.sh: crosssim is not on PATH and not built here; export CROSSSIM=/path/to/crosssim" >&2; exit 2; }
fi
CROSSSIM="${CROSSSIM:-crosssim}"
# a path (contains /) is made absolute; a bare name is looked up on the node's PATH
[[ "$CROSSSIM" == */* ]] && CROSSSIM="$(abspath "$CROSSSIM")"
SBATCH="${SBATCH:-sbatch}"
export X1 X2 OUT K CROSSSIM CROSSSIM_EVAL_ARGS="${CROSSSIM_EVAL_ARGS:-}"

mkdir -p "$OUT/logs"
rm -f "$OUT"/part-*.state "$OUT/report.json"   # stale parts of an earlier run would be merged

# 1) the array: task i computes part i/K
array_id="$("$SBATCH" --parsable --export=ALL \
    --array="0-$((K - 1))" \
    --output="$OUT/logs/part-%a.out" \
    "${EXTRA[@]}" \
    "$HERE/crosssim-array.sbatch")"
array_id="${array_id%%;*}"   # --parsable prints "jobid[;cluster]"

# 2) the merge, only after every array task exited 0. The job script comes from stdin;
#    variables are expanded at run time from the exported environment.
merge_id="$("$SBATCH" --parsable --export=ALL \
    --job-name=crosssim-merge \
    --dependency="afterok:$array_id" --kill-on-invalid-dep=yes \
    --ntasks=1 --cpus-per-task=1 \
    --output="$OUT/logs/merge.out" \
    "${EXTRA[@]}" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
states=()
for ((i = 0; i < K; i++)); do
    f="$OUT/part-$i.state"
    [[ -f "$f" ]] || { echo "crosssim-merge: missing $f" >&2; exit 1; }
    states+=("$f")
done
# same as: crosssim merge "$OUT"/part-*.state --json "$OUT/report.json"  (but in part order, and checked)
exec "$CROSSSIM" merge "${states[@]}" --json "$OUT/report.json"
EOF
)"
merge_id="${merge_id%%;*}"

echo "array=$array_id merge=$merge_id"
echo "submit.sh: $K parts -> $OUT/part-*.state; merged report -> $OUT/report.json (logs in $OUT/logs)" >&2

[[ -n "$WAIT" ]] || exit 0

# 3) optional: wait (bounded) for the merge job. Works without accounting (scontrol keeps
#    finished jobs for MinJobAge seconds, default 300).
end=$((SECONDS + WAIT))
state=""
while ((SECONDS < end)); do
    state="$(scontrol show job -o "$merge_id" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 || true)"
    case "$state" in
        COMPLETED) echo "submit.sh: merge job $merge_id COMPLETED" >&2; exit 0 ;;
        FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)
            echo "submit.sh: merge job $merge_id $state (see $OUT/logs)" >&2; exit 1 ;;
        "") # already purged from slurmctld: judge by the report
            if [[ -f "$OUT/report.json" ]]; then exit 0; fi ;;
    esac
    sleep 1
done
echo "submit.sh: timed out after ${WAIT}s waiting for merge job $merge_id (state: ${state:-unknown})" >&2
exit 1
