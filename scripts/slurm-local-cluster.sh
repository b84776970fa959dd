#!/usr/bin/env bash
# slurm-local-cluster.sh — a throw-away ONE-NODE Slurm cluster for tests/CI.
#
# Usage:
#   scripts/slurm-local-cluster.sh start    # install (if needed), configure, start, wait for idle node
#   scripts/slurm-local-cluster.sh stop     # kill slurmd, slurmctld, munged started by this script
#   scripts/slurm-local-cluster.sh status   # show processes and sinfo
#   scripts/slurm-local-cluster.sh env      # print "export SLURM_CONF=..." for eval
#
# Afterwards point the Slurm clients at the generated config:
#   eval "$(scripts/slurm-local-cluster.sh env)"   # sets SLURM_CONF
#   sinfo; sbatch ...; squeue ...
#
# Design (works in a root container without systemd or cgroups, e.g. gVisor):
#   * Debian 12 packages slurmctld, slurmd, slurm-client, munge (no recommends: 8 packages, ~10 s).
#   * Everything (config, munge key/socket, state, spool, logs, pid files) lives under
#     $SLURM_LOCAL_DIR (default /tmp/crosssim-slurm); the system's /etc/slurm and /etc/munge
#     are not touched. munged runs as root with its own key and socket (AuthInfo=socket=...).
#   * SlurmUser=root, ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, no accounting,
#     no cgroups, SelectType=select/cons_tres with CR_Core, one node named `hostname -s`
#     addressed as 127.0.0.1 (no DNS needed), CPUs/RealMemory taken from `slurmd -C`.
#   * Every wait is bounded (SLURM_LOCAL_TIMEOUT seconds, default 60).
#
# Environment knobs:
#   SLURM_LOCAL_DIR       state dir                       (default /tmp/crosssim-slurm)
#   SLURM_LOCAL_TIMEOUT   seconds to wait for daemons     (default 60)
#   SLURM_LOCAL_CTLD_PORT slurmctld port                  (default 6817)
#   SLURM_LOCAL_SLURMD_PORT slurmd port                   (default 6818)
#   SLURM_LOCAL_NO_INSTALL=1  never run apt-get (fail if binaries are missing)
set -euo pipefail

DIR="${SLURM_LOCAL_DIR:-/tmp/crosssim-slurm}"
TIMEOUT="${SLURM_LOCAL_TIMEOUT:-60}"
CTLD_PORT="${SLURM_LOCAL_CTLD_PORT:-6817}"
SLURMD_PORT="${SLURM_LOCAL_SLURMD_PORT:-6818}"
CONF="$DIR/etc/slurm.conf"
MUNGE_SOCKET="$DIR/run/munge.socket"
NODE="$(hostname -s 2>/dev/null || hostname)"

log() { printf '[slurm-local] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# alive and not a zombie (our daemons are re-parented to PID 1, which may reap them late)
running() {
    local st
    st="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null)" || return 1
    st="${st%% *}"
    [[ -n "$st" && "$st" != Z && "$st" != X ]]
}

# pid of a daemon we started, if it is still alive (and is what we think it is)
alive_pid() { # name pidfile
    local name="$1" pidfile="$2" pid
    [[ -s "$pidfile" ]] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [[ -n "$pid" ]] || return 1
    running "$pid" || return 1
    # guard against pid reuse: /proc/PID/comm must match
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name"* ]] || return 1
    echo "$pid"
}

wait_for() { # description timeout command...
    local what="$1" t="$2"; shift 2
    local end=$((SECONDS + t))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= end)); then
            log "timed out after ${t}s waiting for: $what"
            return 1
        fi
        sleep 0.2
    done
}

install_packages() {
    local need=()
    command -v munged >/dev/null 2>&1 || need+=(munge)
    command -v slurmctld >/dev/null 2>&1 || need+=(slurmctld)
    command -v slurmd >/dev/null 2>&1 || need+=(slurmd)
    command -v sbatch >/dev/null 2>&1 || need+=(slurm-client)
    ((${#need[@]} == 0)) && return 0
    [[ "${SLURM_LOCAL_NO_INSTALL:-0}" == 1 ]] && die "missing packages: ${need[*]} (SLURM_LOCAL_NO_INSTALL=1)"
    [[ "$(id -u)" == 0 ]] || die "need root to apt-get install ${need[*]}"
    log "installing ${need[*]} ..."
    local t0=$SECONDS
    # Keep the packages' postinst from starting system-wide daemons (no systemd here anyway):
    # a temporary policy-rc.d that denies all starts, removed afterwards if we created it.
    local created_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    local rc=0
    if ! DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q --no-install-recommends \
            "${need[@]}" >"/tmp/slurm-local-apt.log" 2>&1; then
        log "apt-get install failed; retrying after apt-get update"
        DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -q >>"/tmp/slurm-local-apt.log" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q --no-install-recommends \
            "${need[@]}" >>"/tmp/slurm-local-apt.log" 2>&1 || rc=$?
    fi
    ((created_policy)) && rm -f /usr/sbin/policy-rc.d
    ((rc == 0)) || { tail -20 /tmp/slurm-local-apt.log >&2; die "apt-get install failed (log: /tmp/slurm-local-apt.log)"; }
    log "installed in $((SECONDS - t0))s"
}

write_config() {
    mkdir -p "$DIR"/{etc,munge,state,spool,log,run} "$DIR/spool/slurmd-$NODE"
    chmod 755 "$DIR" "$DIR/run"   # munge socket dir must be world-searchable
    chmod 700 "$DIR/munge"         # key dir
    if [[ ! -s "$DIR/munge/munge.key" ]]; then
        # private key for this throw-away cluster only (the system key in /etc/munge is not used)
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile="$DIR/munge/munge.key" --force >/dev/null
        else
            dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1 count=1024 status=none
        fi
    fi
    chmod 600 "$DIR/munge/munge.key"

    # What slurmd would detect; configuring more than this drains the node ("Low RealMemory").
    local hw cpus mem topo=""
    hw="$(slurmd -C 2>/dev/null | head -1 || true)"
    cpus="$(sed -n 's/.*[[:space:]]CPUs=\([0-9]*\).*/\1/p' <<<"$hw")"
    mem="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")"
    [[ -n "$cpus" ]] || cpus="$(nproc)"
    [[ -n "$mem" ]] || mem=$(($(awk '/^MemTotal:/{print $2}' /proc/meminfo) / 1024))
    # socket/core/thread layout as slurmd sees it (else slurmctld guesses Sockets=CPUs)
    local k v
    for k in Boards SocketsPerBoard CoresPerSocket ThreadsPerCore; do
        v="$(sed -n "s/.*[[:space:]]$k=\([0-9]*\).*/\1/p" <<<"$hw")"
        if [[ -n "$v" ]]; then topo+=" $k=$v"; fi
    done

    local new="$CONF.new"
    cat >"$new" <<EOF
# Generated by scripts/slurm-local-cluster.sh — one-node throw-away cluster.
ClusterName=crosssim-local
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/slurmd-%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd-%n.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups, no accounting
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
# scheduling: fast turnaround for tests
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,sched_interval=2,bf_interval=1
ReturnToService=2
JobRequeue=0
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MailProg=/bin/true
KillWait=5
MaxArraySize=10001
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus$topo RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
    # keep the file (and so slurmctld's view) unchanged when nothing changed
    CONF_CHANGED=0
    if [[ -f "$CONF" ]] && cmp -s "$new" "$CONF"; then
        rm -f "$new"
    else
        [[ -f "$CONF" ]] && CONF_CHANGED=1
        mv "$new" "$CONF"
    fi
}

node_idle() {
    # one line per node: "<node> <state>"; idle (or mixed/alloc once jobs run) means usable
    local st
    st="$(SLURM_CONF="$CONF" timeout 10 sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null | head -1)"
    [[ "$st" == idle* || "$st" == mixed* || "$st" == allocated* ]]
}

start() {
    install_packages
    write_config

    if ((CONF_CHANGED)); then
        # running daemons would keep the old config (node layout changes need a restart)
        log "slurm.conf changed; restarting slurm daemons that are running"
        stop_daemon slurmd "$DIR/run/slurmd-$NODE.pid"
        stop_daemon slurmctld "$DIR/run/slurmctld.pid"
    fi

    if ! alive_pid munged "$DIR/run/munged.pid" >/dev/null; then
        rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
        log "starting munged"
        munged --force --origin=127.0.0.1 \
            --socket="$MUNGE_SOCKET" \
            --key-file="$DIR/munge/munge.key" \
            --pid-file="$DIR/run/munged.pid" \
            --log-file="$DIR/log/munged.log" \
            --seed-file="$DIR/munge/munged.seed" \
            || die "munged failed to start: $(tail -5 "$DIR/log/munged.log" 2>/dev/null)"
    fi
    wait_for "munge socket" "$TIMEOUT" bash -c "munge -S '$MUNGE_SOCKET' -n | unmunge -S '$MUNGE_SOCKET'" \
        || die "munged not answering: $(tail -5 "$DIR/log/munged.log" 2>/dev/null)"

    if ! alive_pid slurmctld "$DIR/run/slurmctld.pid" >/dev/null; then
        log "starting slurmctld"
        # -c: start clean (no jobs/node state from an earlier run in the same dir)
        slurmctld -f "$CONF" -c >>"$DIR/log/slurmctld.stdout" 2>&1 \
            || die "slurmctld failed: $(tail -5 "$DIR/log/slurmctld.log" 2>/dev/null)"
    fi
    wait_for "slurmctld to answer" "$TIMEOUT" env SLURM_CONF="$CONF" timeout 10 scontrol ping \
        || die "slurmctld not answering: $(tail -5 "$DIR/log/slurmctld.log" 2>/dev/null)"
    wait_for "slurmctld to report UP" "$TIMEOUT" \
        bash -c "SLURM_CONF='$CONF' timeout 10 scontrol ping | grep -q 'is UP'" \
        || die "slurmctld not UP: $(tail -5 "$DIR/log/slurmctld.log" 2>/dev/null)"

    if ! alive_pid slurmd "$DIR/run/slurmd-$NODE.pid" >/dev/null; then
        log "starting slurmd"
        slurmd -f "$CONF" -N "$NODE" >>"$DIR/log/slurmd.stdout" 2>&1 \
            || die "slurmd failed: $(tail -5 "$DIR/log/slurmd-$NODE.log" 2>/dev/null)"
    fi

    if ! wait_for "node $NODE idle" "$TIMEOUT" node_idle; then
        # a node left DOWN/DRAIN by an earlier run: resume it once, then wait again
        SLURM_CONF="$CONF" timeout 10 scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
        wait_for "node $NODE idle (after resume)" 20 node_idle || {
            SLURM_CONF="$CONF" sinfo -N -l >&2 || true
            tail -5 "$DIR/log/slurmd-$NODE.log" >&2 2>/dev/null || true
            die "node $NODE did not become idle"
        }
    fi
    log "cluster up: node $NODE idle; use: export SLURM_CONF=$CONF"
}

stop_daemon() { # name pidfile — TERM, wait up to 15 s, then KILL
    local name="$1" pidfile="$2" pid end
    pid="$(alive_pid "$name" "$pidfile")" || { rm -f "$pidfile"; return 0; }
    log "stopping $name ($pid)"
    kill -TERM "$pid" 2>/dev/null || true
    end=$((SECONDS + 15))
    while running "$pid" && ((SECONDS < end)); do sleep 0.1; done
    if running "$pid"; then
        log "$name ($pid) ignored SIGTERM; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

queue_empty() {
    local q
    q="$(SLURM_CONF="$CONF" timeout 10 squeue -h 2>/dev/null)" || return 1
    [[ -z "$q" ]]
}

stop() {
    local p fd
    # cancel whatever is still queued/running so slurmstepd processes exit with their jobs
    if alive_pid slurmctld "$DIR/run/slurmctld.pid" >/dev/null; then
        local jobs
        jobs="$(SLURM_CONF="$CONF" timeout 10 squeue -h -o '%A' 2>/dev/null | sort -u | tr '\n' ' ' || true)"
        if [[ -n "${jobs// /}" ]]; then
            log "cancelling jobs: $jobs"
            # shellcheck disable=SC2086
            SLURM_CONF="$CONF" timeout 10 scancel $jobs 2>/dev/null || true
            wait_for "job queue to drain" 15 queue_empty || true
        fi
    fi
    stop_daemon slurmd "$DIR/run/slurmd-$NODE.pid"
    stop_daemon slurmctld "$DIR/run/slurmctld.pid"
    stop_daemon munged "$DIR/run/munged.pid"
    # leftover step daemons of this cluster (they keep a socket in our spool dir open)
    for p in $(pgrep -x slurmstepd 2>/dev/null || true); do
        for fd in /proc/"$p"/fd/*; do
            if [[ "$(readlink "$fd" 2>/dev/null)" == "$DIR/"* ]]; then
                log "killing leftover slurmstepd ($p)"
                kill -KILL "$p" 2>/dev/null || true
                break
            fi
        done
    done
    # ... and job processes they left behind: slurmd puts SLURM_CONF=$CONF and SLURM_JOB_ID in
    # every job's environment. Never touch this script or its ancestors.
    local self_chain=" $$ " q=$$ e env_lines
    while [[ "$q" -gt 1 ]] && q="$(awk '/^PPid:/{print $2}' "/proc/$q/status" 2>/dev/null)" && [[ -n "$q" ]]; do
        self_chain+="$q "
    done
    for e in /proc/[0-9]*/environ; do
        p="${e#/proc/}"; p="${p%/environ}"
        [[ "$self_chain" == *" $p "* ]] && continue
        env_lines="$(tr '\0' '\n' 2>/dev/null <"$e")" || continue
        if grep -qxF "SLURM_CONF=$CONF" <<<"$env_lines" && grep -q '^SLURM_JOB_ID=' <<<"$env_lines"; then
            log "killing leftover job process $p ($(cat "/proc/$p/comm" 2>/dev/null))"
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
}

status() {
    local name pidfile pid
    for entry in "munged:$DIR/run/munged.pid" "slurmctld:$DIR/run/slurmctld.pid" "slurmd:$DIR/run/slurmd-$NODE.pid"; do
        name="${entry%%:*}"; pidfile="${entry#*:}"
        if pid="$(alive_pid "$name" "$pidfile")"; then echo "$name running ($pid)"; else echo "$name not running"; fi
    done
    if [[ -f "$CONF" ]]; then SLURM_CONF="$CONF" timeout 10 sinfo -N 2>/dev/null || true; fi
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    restart) stop; start ;;
    status) status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *) echo "usage: $0 {start|stop|restart|status|env}" >&2; exit 2 ;;
esac
