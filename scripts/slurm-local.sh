#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the sweep integration test
# (tests/slurm/sweep_on_slurm.sh). Needs root and Debian's slurm-wlm and munge.
#
#   scripts/slurm-local.sh start   # install if needed, configure, start munged, slurmctld, slurmd
#   scripts/slurm-local.sh stop    # stop exactly the daemons this script started
#
# State (config, spool, logs, pid files) lives under $SLURM_LOCAL_DIR (default
# /var/tmp/metarl-slurm); nothing else on the machine is reconfigured except
# /etc/slurm/slurm.conf and /etc/munge/munge.key, which Slurm and munge read
# from fixed places.
set -euo pipefail
STATE=${SLURM_LOCAL_DIR:-/var/tmp/metarl-slurm}

start() {
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "installing slurm-wlm and munge" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
  fi
  mkdir -p "$STATE"/{spool/ctld,spool/d,log,run}
  # munge: a key owned by munge, mode 400; the daemon runs as the munge user.
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
  fi
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- /usr/sbin/munged
    echo munged > "$STATE/run/started-munged"
  fi
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(free -m | awk '/^Mem:/{print $2}') * 9 / 10 ))
  mkdir -p /etc/slurm
  cat > /etc/slurm/slurm.conf <<CONF
# Written by pfc-metarl's scripts/slurm-local.sh: a one-node test cluster.
ClusterName=metarl-test
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=$STATE/spool/ctld
SlurmdSpoolDir=$STATE/spool/d
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
MpiDefault=none
SchedulerType=sched/backfill
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  /usr/sbin/slurmctld
  /usr/sbin/slurmd
  # Ready when the node is idle.
  for _ in $(seq 1 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^idle'; then
      echo "slurm is up: $(sinfo -h -o '%P %D %T %c')" >&2
      return 0
    fi
    sleep 1
  done
  echo "slurm did not come up; logs in $STATE/log" >&2
  tail -20 "$STATE/log/"*.log >&2 || true
  return 1
}

stop() {
  for d in slurmd slurmctld; do
    if [ -f "$STATE/run/$d.pid" ]; then
      kill "$(cat "$STATE/run/$d.pid")" 2>/dev/null || true
      rm -f "$STATE/run/$d.pid"
    fi
  done
  if [ -f "$STATE/run/started-munged" ]; then
    pkill -x munged 2>/dev/null || true
    rm -f "$STATE/run/started-munged"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
