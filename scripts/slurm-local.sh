#!/usr/bin/env bash
# Brings up (or stops) a single-node Slurm on localhost from Debian's
# packages, for testing the Slurm executor for real:
#
#   eval "$(scripts/slurm-local.sh up)"    # prints: export SLURM_CONF=...
#   scripts/slurm-local.sh status
#   scripts/slurm-local.sh down
#
# There is no systemd here, so munged, slurmctld and slurmd are started by
# hand with their state under $EMLAB_SLURM_DIR (default /tmp/emlab-slurm).
# Facts this relies on, found on these machines: munged wants its socket
# directory 0755 and its key 0400; the node name must be `hostname -s` with
# NodeAddr=127.0.0.1; proctrack/linuxproc and task/none work without
# cgroups; without accounting (accounting_storage/none) sacct does not work,
# so MinJobAge keeps finished jobs visible to squeue and scontrol.
# Everything goes to stderr except the export line, so eval works.
#
# Several users may share the one cluster (two CI runs on one machine: the
# ports, the node name and munge's socket are per host, so a second cluster
# cannot run beside the first). Each `up` leaves a lease named after its
# caller's process ($EMLAB_SLURM_LEASE, default the calling shell), and
# `down` drops the caller's lease and stops the daemons only when no lease
# of a live process is left, so one user's exit never stops another's
# cluster or cancels its jobs. up and down hold $DIR/lock while they run.
set -euo pipefail

DIR=${EMLAB_SLURM_DIR:-/tmp/emlab-slurm}
CONF=$DIR/slurm.conf
LEASES=$DIR/leases
# The caller: for eval "$(scripts/slurm-local.sh up)" and for a trap that
# calls down, the parent of this script is the caller's shell either way.
LEASE=${EMLAB_SLURM_LEASE:-$PPID}
MUNGE_RUN=/run/munge # munge's default socket directory: clients find it without settings
MUNGE_KEY=/etc/munge/munge.key

log() { echo "slurm-local: $*" >&2; }
die() { log "$*"; exit 1; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

install_if_missing() {
	if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
		return
	fi
	log "installing slurm-wlm and munge with apt-get"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >&2 ||
		{ as_root apt-get update -q >&2 && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >&2; } ||
		die "could not install slurm-wlm and munge"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_munge() {
	if alive "$DIR/munged.pid"; then return; fi
	as_root mkdir -p "$MUNGE_RUN" /etc/munge /var/lib/munge /var/log/munge
	as_root chmod 0755 "$MUNGE_RUN"
	if [ ! -s "$MUNGE_KEY" ]; then
		as_root dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 status=none
	fi
	as_root chmod 0400 "$MUNGE_KEY"
	as_root munged --force --key-file="$MUNGE_KEY" --pid-file="$DIR/munged.pid" \
		--log-file="$DIR/log/munged.log" --seed-file="$DIR/munge.seed" --socket="$MUNGE_RUN/munge.socket.2" >&2 9>&- ||
		die "munged did not start (see $DIR/log/munged.log)"
	for _ in $(seq 50); do [ -S "$MUNGE_RUN/munge.socket.2" ] && return; sleep 0.1; done
	die "munged socket did not appear"
}

write_conf() {
	local host node mem
	host=$(hostname -s)
	# slurmd -C prints this node's real topology and memory; configuring more
	# than is there drains the node.
	node=$(slurmd -C | head -1)
	[ -n "$node" ] || die "slurmd -C printed nothing"
	mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
	node=$(sed "s/RealMemory=[0-9]*/RealMemory=$((mem * 9 / 10))/" <<<"$node")
	cat >"$CONF" <<EOF
# Written by scripts/slurm-local.sh: a single-node cluster on localhost.
ClusterName=emlab
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${EMLAB_SLURMCTLD_PORT:-6817}
SlurmdPort=${EMLAB_SLURMD_PORT:-6818}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/d
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Finished jobs stay visible to squeue/scontrol for an hour: there is no
# accounting database to ask afterwards.
MinJobAge=3600
SlurmctldTimeout=30
SlurmdTimeout=30
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

# with_lock runs its arguments holding $DIR/lock, so that an up and a down
# of two users never interleave. The daemons are started with fd 9 closed:
# an inherited descriptor would hold the lock for their whole life.
with_lock() {
	mkdir -p "$DIR"
	exec 9>"$DIR/lock"
	flock 9
	"$@"
}

# live_leases prints the leases whose process is alive, removing the rest
# (a user killed before its down).
live_leases() {
	local f pid
	for f in "$LEASES"/*; do
		[ -e "$f" ] || continue
		pid=${f##*/}
		if kill -0 "$pid" 2>/dev/null; then echo "$pid"; else rm -f "$f"; fi
	done
}

up() {
	install_if_missing
	mkdir -p "$DIR/ctld" "$DIR/d" "$DIR/log" "$LEASES"
	touch "$LEASES/$LEASE"
	export SLURM_CONF=$CONF
	start_munge
	[ -f "$CONF" ] || write_conf
	if ! alive "$DIR/slurmctld.pid"; then
		slurmctld -f "$CONF" >&2 9>&- || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
	fi
	if ! alive "$DIR/slurmd.pid"; then
		slurmd -f "$CONF" >&2 9>&- || die "slurmd did not start (see $DIR/log/slurmd.log)"
	fi
	local host state=""
	host=$(hostname -s)
	for _ in $(seq 120); do
		state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
		case "$state" in
		idle* | mixed* | allocated*) break ;;
		down* | drain*) scontrol update nodename="$host" state=resume >&2 2>/dev/null || true ;;
		esac
		sleep 0.5
	done
	case "$state" in
	idle* | mixed* | allocated*) log "up: node $host is $state" ;;
	*) die "node $host did not become idle (state '$state'; logs in $DIR/log)" ;;
	esac
	echo "export SLURM_CONF=$CONF"
}

stop_pid() {
	local pidfile=$1 name=$2
	if alive "$pidfile"; then
		local pid
		pid=$(cat "$pidfile")
		as_root kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$pid" 2>/dev/null; then
			as_root kill -9 "$pid" 2>/dev/null || true
		fi
		log "stopped $name"
	fi
	rm -f "$pidfile"
}

down() {
	rm -f "$LEASES/$LEASE"
	local others
	others=$(live_leases | tr '\n' ' ')
	if [ -n "$others" ]; then
		log "still in use by process(es) ${others% }: left running"
		return
	fi
	if [ -f "$CONF" ] && alive "$DIR/slurmctld.pid"; then
		SLURM_CONF=$CONF scancel --user="$(id -un)" 2>/dev/null || true
	fi
	stop_pid "$DIR/slurmd.pid" slurmd
	stop_pid "$DIR/slurmctld.pid" slurmctld
	stop_pid "$DIR/munged.pid" munged
	# Forget the cluster state so the next up starts clean.
	rm -rf "$DIR/ctld" "$DIR/d" "$CONF"
}

status() {
	for d in munged slurmctld slurmd; do
		if alive "$DIR/$d.pid"; then log "$d running (pid $(cat "$DIR/$d.pid"))"; else log "$d stopped"; fi
	done
	local users
	users=$(live_leases 2>/dev/null | tr '\n' ' ')
	users=${users% }
	log "leases: ${users:-none}"
	if [ -f "$CONF" ]; then SLURM_CONF=$CONF sinfo >&2 || true; fi
}

case "${1:-}" in
up) with_lock up ;;
down) with_lock down ;;
status) status ;;
*) die "usage: $0 up|down|status" ;;
esac
