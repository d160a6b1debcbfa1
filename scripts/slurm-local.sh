#!/usr/bin/env bash
# A throwaway one-node Slurm cluster on this machine, everything under STATE_DIR: its own munge
# key and daemon, slurm.conf, spool, state, pid and log files. For the Slurm test
# (cli/tests/cli/slurm.rs) and for trying the recipes in examples/cluster/ by hand.
#
#   scripts/slurm-local.sh start  STATE_DIR   # then: export SLURM_CONF=STATE_DIR/slurm.conf
#   scripts/slurm-local.sh status STATE_DIR
#   scripts/slurm-local.sh stop   STATE_DIR   # safe to run twice
#
# Needs root (jobs run as root: SlurmUser=root) and the Debian packages slurm-wlm and munge.
# No cgroups, no accounting, no GPUs: a CPU-only node named after this host.
set -euo pipefail
# The daemons live in sbin, which a non-login shell may lack.
PATH=$PATH:/usr/sbin:/sbin

die() {
    echo "slurm-local: error: $*" >&2
    exit 1
}

# A start that went wrong: the daemons' logs, then nothing left running.
fail() {
    logs
    stop
    die "$@"
}

[ $# -eq 2 ] || die "usage: $0 start|status|stop STATE_DIR"
cmd=$1
[ "$cmd" != start ] || mkdir -p "$2"
# Absolute: the daemons do not run in this folder. Nothing to stop where there is no folder.
state=$(cd "$2" 2>/dev/null && pwd) || { [ "$cmd" = stop ] && exit 0; die "no folder $2"; }
conf=$state/slurm.conf
# Not the default ports (6817, 6818), so that a real Slurm on this host is left alone.
ctld_port=${SLURM_LOCAL_CTLD_PORT:-16817}
slurmd_port=${SLURM_LOCAL_SLURMD_PORT:-16818}
# Seconds to wait for the node to come up idle.
timeout=${SLURM_LOCAL_TIMEOUT:-60}

# The last lines of every daemon log, for an error message.
logs() {
    for f in "$state"/log/*.log; do
        [ -s "$f" ] || continue
        echo "--- last lines of $f:" >&2
        tail -n 15 "$f" >&2
    done
}

# The pid in pid file $1 if that process is alive.
alive() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

stop() {
    # Cancel what still runs (a test that failed mid-job) while the controller is there to do it.
    if [ -f "$conf" ] && alive "$state/run/slurmctld.pid" >/dev/null; then
        SLURM_CONF=$conf scancel --user=root 2>/dev/null || true
        # Until their processes are gone: slurmd going first would leave them running.
        for _ in $(seq 40); do
            [ -z "$(SLURM_CONF=$conf squeue --noheader 2>/dev/null)" ] && break
            sleep 0.25
        done
    fi
    local d pid
    for d in slurmd slurmctld munged; do
        pid=$(alive "$state/run/$d.pid") || { rm -f "$state/run/$d.pid"; continue; }
        kill "$pid"
        # Wait, so that nothing writes into STATE_DIR once this returns (the caller may delete it).
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        ! kill -0 "$pid" 2>/dev/null || kill -9 "$pid"
        rm -f "$state/run/$d.pid"
    done
}

node_state() {
    SLURM_CONF=$conf sinfo --noheader --Node --format=%T 2>/dev/null | head -n 1
}

start() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (the daemons and the jobs run as root)"
    local b
    for b in munged mungekey slurmctld slurmd sinfo sbatch scancel; do
        command -v "$b" >/dev/null ||
            die "$b not found: install the Debian packages slurm-wlm and munge"
    done
    # A second start on the same folder begins afresh.
    stop
    rm -f "$state"/log/*.log
    mkdir -p "$state/munge" "$state/run" "$state/log" "$state/ctld" "$state/spool"
    # munged refuses a key or socket folder that others can read or write.
    chmod 700 "$state/munge"

    # Munge: a fresh key, and a daemon of our own on its own socket (slurm.conf's AuthInfo),
    # leaving any system munged and its key alone. --force: it runs as root.
    mungekey --create --force --keyfile="$state/munge/munge.key"
    munged --force --socket="$state/munge/socket" --key-file="$state/munge/munge.key" \
        --pid-file="$state/run/munged.pid" --log-file="$state/log/munged.log" \
        --seed-file="$state/munge/seed" || fail "munged did not start"

    # The node as slurmd sees it (name, CPUs, sockets, cores, memory), less the uptime line:
    # a node that reports less than slurm.conf says is drained.
    local node
    node=$(slurmd -C | grep '^NodeName=') || fail "slurmd -C did not describe this machine"
    cat >"$conf" <<EOF
# Written by scripts/slurm-local.sh: a one-node cluster on this host.
ClusterName=driftbench-local
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge/socket
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
# No cgroups: processes are tracked through /proc, tasks are not confined.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
# Cores are the consumable: as many jobs at once as this host has cores.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# The node comes back up by itself after a restart.
ReturnToService=2
MailProg=/bin/true
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

    # -c: no state from an earlier cluster in this folder.
    SLURM_CONF=$conf slurmctld -c || fail "slurmctld did not start"
    SLURM_CONF=$conf slurmd || fail "slurmd did not start"

    local s d waited=0
    while :; do
        s=$(node_state) || s=
        case $s in idle*) break ;; esac
        # A daemon that exits soon after forking (a port in use, a bad slurm.conf) says why in
        # its log; two seconds' grace let it write its pid file first.
        for d in slurmctld slurmd; do
            [ "$waited" -lt 2 ] || alive "$state/run/$d.pid" >/dev/null ||
                fail "$d exited (ports $ctld_port and $slurmd_port in use? SLURM_LOCAL_CTLD_PORT and SLURM_LOCAL_SLURMD_PORT choose others)"
        done
        [ "$waited" -lt "$timeout" ] ||
            fail "the node is not idle after ${timeout}s (state: ${s:-no answer from slurmctld})"
        sleep 1
        waited=$((waited + 1))
    done
    echo "slurm-local: node $(hostname -s) idle after ${waited}s; point clients at it with:"
    echo "export SLURM_CONF=$conf"
}

case $cmd in
start) start ;;
stop) stop ;;
status)
    for d in munged slurmctld slurmd; do
        if pid=$(alive "$state/run/$d.pid"); then echo "$d: running ($pid)"; else echo "$d: stopped"; fi
    done
    if [ -f "$conf" ]; then s=$(node_state) || s=; echo "node: ${s:-no answer from slurmctld}"; fi
    ;;
*) die "unknown command $cmd (start, status, stop)" ;;
esac
