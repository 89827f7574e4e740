#!/usr/bin/env bash
# agent-idle-memory.sh [EXTRA_PEERS] [IDLE_SECONDS]: where an idle latticed's memory goes. One lattice-control and two
# latticed (A plain, for RSS; B with Native Memory Tracking) in network namespaces lt-m<id>-* on one bridge
# (10.203.0.0/24), both `lattice up`, a ping A -> B, EXTRA_PEERS made-up nodes, then IDLE_SECONDS idle. Prints both
# RSS and thread counts and B's NMT summary in one line; OUT (default /tmp) gets B's full NMT summary, loaded classes,
# thread dump and A's pmap, named by TAG. Everything it made is deleted on exit. Needs root and a JDK 25 (jcmd).
#   sudo bench/agent-idle-memory.sh 0 20                  # 1 peer
#   sudo bench/agent-idle-memory.sh 99 20                 # 100 peers
#   sudo XOPTS="-Xmn4m" TAG=xmn bench/agent-idle-memory.sh  # extra JVM options for both daemons (LATTICE_JAVA_OPTS)
#   sudo IPERF=5 bench/agent-idle-memory.sh 0 20          # also iperf3 A -> B over the tunnel after the ping: IPERF seconds
#                                                         # unmeasured, then IPERF measured; prints Mbit/s and GCs
#   sudo FULLGC=1 bench/agent-idle-memory.sh 0 20         # a full GC half-way through the idle time (a long-lived daemon's heap)
set -uo pipefail
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"
PEERS=${1:-0} IDLE=${2:-20} OUT=${OUT:-/tmp}
JCMD=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/jcmd
ID=$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n'); P=lt-m$ID
declare -A NS=([srv]=$P-srv [la]=$P-la [lb]=$P-lb) ADDR=([srv]=10.203.0.2 [la]=10.203.0.11 [lb]=10.203.0.12)
WORK=$(mktemp -d /tmp/lattice-idle-memory-XXXXXX); PIDS=(); declare -A DPID=()
log() { echo "[rss] $*" >&2; }
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; sleep 2; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for ns in "${NS[@]}" $P-sw; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9; ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"; }
trap cleanup EXIT
NS_SW=$P-sw; lab_build || { log "cannot build the lab"; exit 1; }
d=$WORK/control; mkdir -p $d; ip=${ADDR[srv]}
control_config "$d" "$ip" bench
ip netns exec ${NS[srv]} $REPO/bin/lattice-control serve -c $d/config.yaml >$WORK/control.log 2>&1 & PIDS+=($!)
admin() { curl -sS -m 30 --unix-socket $d/control.sock -X "$1" -H 'Content-Type: application/json' ${3:+--data "$3"} "http://local/api/v1/$2"; }
for i in $(seq 240); do ip netns exec ${NS[srv]} curl -sf -m 2 http://$ip:8080/health >/dev/null 2>&1 && break; sleep 0.5; done
for h in la lb; do mkdir -p $WORK/$h
  opts=""; [ $h = lb ] && opts="-XX:NativeMemoryTracking=summary"
  LATTICE_JAVA_OPTS="$opts ${XOPTS:-}" ip netns exec ${NS[$h]} $REPO/bin/latticed --statedir=$WORK/$h --socket=$WORK/$h/sock --tun=lattice0 --port=41641 ${LARGS:-} >$WORK/$h.log 2>&1 &
  DPID[$h]=$!; PIDS+=($!); done
for h in la lb; do for i in $(seq 600); do [ -S $WORK/$h/sock ] && break; sleep 0.05; done; done
admin POST user '{"name":"bench"}' >/dev/null
key=$(admin POST preauthkey "{\"user\":\"bench\",\"reusable\":true,\"expiration\":\"$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\"}" | grep -oE '"key": *"[^"]+"' | head -1 | sed "s/.*\"\\([^\"]*\)\"$/\\1/")
for h in la lb; do ip netns exec ${NS[$h]} $REPO/bin/lattice --socket=$WORK/$h/sock up --login-server=http://$ip:8080 --authkey=$key --hostname=$h --accept-dns=false >$WORK/$h-up.out 2>&1 || log "$h up failed: $(tail -2 $WORK/$h-up.out)"; done
ipb=$(ip netns exec ${NS[lb]} $REPO/bin/lattice --socket=$WORK/lb/sock ip -4 2>/dev/null)
ip netns exec ${NS[la]} $REPO/bin/lattice --socket=$WORK/la/sock ping -c 3 "$ipb" >/dev/null 2>&1 || log "ping failed"
if [ "${IPERF:-0}" -gt 0 ]; then
  jstat_gc() { ${JCMD%/jcmd}/jstat -gc "$1" | awk 'NR==2{print "young " $(NF-6) " full " $(NF-4)}'; }
  ip netns exec ${NS[lb]} iperf3 -s -B "$ipb" -p 5201 >/dev/null 2>&1 & PIDS+=($!)
  for i in $(seq 100); do [ -n "$(ip netns exec ${NS[lb]} ss -Hltn 'sport = :5201')" ] && break; sleep 0.05; done
  ip netns exec ${NS[la]} iperf3 -c "$ipb" -p 5201 -t "$IPERF" >/dev/null 2>&1
  ga=$(jstat_gc ${DPID[la]}); gb=$(jstat_gc ${DPID[lb]})
  mb=$(timeout $((IPERF + 30)) ip netns exec ${NS[la]} iperf3 -c "$ipb" -p 5201 -t "$IPERF" -f m 2>&1 | awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") v = $(i-1) } END { print (v == "" ? "FAIL" : v) }')
  echo "iperf A -> B ${IPERF} s warm: $mb Mbit/s; GCs before -> after: A $ga -> $(jstat_gc ${DPID[la]}), B $gb -> $(jstat_gc ${DPID[lb]})"
fi
if [ "$PEERS" -gt 0 ]; then
  for i in $(seq $PEERS); do id=sim$i$ID; admin POST debug/node "{\"user\":\"bench\",\"key\":\"$id\",\"name\":\"sim-$i\"}" >/dev/null; admin POST auth/register "{\"user\":\"bench\",\"authId\":\"$id\"}" >/dev/null; done
fi
if [ -n "${FULLGC:-}" ]; then
  # a full collection half-way through the idle time, as a daemon that runs for hours has had: the old generation
  # is then sized by the free ratios, no longer by -Xms
  sleep $((IDLE / 2)); for h in la lb; do $JCMD ${DPID[$h]} GC.run >/dev/null 2>&1; done; sleep $((IDLE - IDLE / 2))
else
  sleep $IDLE
fi
for h in la lb; do pid=${DPID[$h]}
  echo "$h pid $pid RSS $(awk '/^VmRSS:/{printf "%.1f",$2/1024}' /proc/$pid/status) MiB threads $(ls /proc/$pid/task | wc -l)"
done
pid=${DPID[lb]}
$JCMD $pid VM.native_memory summary > $WORK/nmt.txt 2>&1
awk '/^Total/{print} /^-/{n=$0; sub(/^- */,"",n); sub(/ \(reserved.*/,"",n); match($0,/committed=[0-9]+KB/); c=substr($0,RSTART+10,RLENGTH-12); if (c+0>=1000) printf "  %s=%.1fMB", n, c/1024} /classes #|threads #/{gsub(/[()]/,""); printf " [%s]", $1" "$2} END{print ""}' $WORK/nmt.txt
$JCMD $pid VM.classes > $WORK/classes.txt 2>&1; cp $WORK/classes.txt $OUT/classes-${TAG:-x}.txt
$JCMD $pid Thread.print > $OUT/threads-${TAG:-x}.txt 2>&1
echo "A sees $(curl -sS --unix-socket $WORK/la/sock http://local-tailscaled.sock/localapi/v0/status 2>/dev/null | tr -d '\n ' | grep -oE '"PublicKey":"nodekey:[0-9a-f]+"' | sort -u | wc -l) node keys (itself and its peers)"
cp $WORK/nmt.txt $OUT/nmt-${TAG:-x}.txt
cp $WORK/la.log $OUT/la-${TAG:-x}.log
pmap -x ${DPID[la]} | sort -k3 -n -r | head -25 > $OUT/pmap-${TAG:-x}.txt
