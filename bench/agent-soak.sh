#!/usr/bin/env bash
# agent-soak.sh: does a node agent's memory keep growing under steady traffic and churn? Two latticed and two
# tailscaled on one lattice-control, side by side in the same run, for an hour (default) of rate-limited traffic:
# iperf3 bursts at a fixed bit rate, a ping every second, `status` calls, and every few minutes each pair's B going
# down and up again and a made-up node joining or leaving the tailnet. Samples every daemon's RSS, heap in use after
# the last GC (latticed, from jstat), threads and open fds; prints the curve and a least-squares slope over the last
# minutes of the run. See bench/README.md.
#
#   sudo LATTICE_TAILSCALED=… LATTICE_TAILSCALE=… bench/agent-soak.sh [--duration MIN] [--sample SEC] …
#
# The lab (namespaces lt-s<id>-*): one switch (bridge br0, 10.204.0.0/24) with
#   srv 10.204.0.2  lattice-control      la 10.204.0.11  lb 10.204.0.12  latticed     oa .21  ob .22  tailscaled
# Everything it made is deleted on exit, also on failure or Ctrl-C; no route leads out of the lab.
set -uo pipefail

usage() {
  cat <<USAGE
usage: $0 [options]
  -d, --duration MIN      length of the soak in minutes (default 60)
  -s, --sample SEC        seconds between samples (default 60)
  -e, --every MIN         minutes between rows of the summary table (default 5)
  -f, --fit MIN           slope fitted over the last MIN minutes (default 40; at most the whole run)
  -b, --rate RATE         iperf3 bit rate of a burst, iperf3's -b syntax (default 20M)
      --burst SEC         length of a burst (default 20); one burst per pair every --period SEC (default 60),
                          alternating direction
      --period SEC
  -c, --churn MIN         minutes between churn events (default 5): each pair's B goes down for 10 s and up
                          again, and a made-up node joins (or the last one leaves)
      --status SEC        seconds between \`status\` calls on each A (default 20)
  -o, --out DIR           where the samples, class histograms, NMT diff and logs go (default /tmp/lattice-soak-<id>)
  -h, --help              this text
environment:
  LATTICED, LATTICE_CLI   latticed and its CLI (default: <repo>/bin/latticed, <repo>/bin/lattice; LATTICE_JAR works)
  LATTICE_CONTROL         the control server launcher (default: <repo>/bin/lattice-control)
  LATTICE_TAILSCALED, LATTICE_TAILSCALE   official tailscaled and tailscale; when unset the official pair is
                          skipped (said on stderr and in the table)
  JAVA_HOME               a JDK 25 for jstat and jcmd (default /usr/lib/jvm/temurin-25-jdk-amd64)
latticed B runs with Native Memory Tracking (summary) so that its growth can be split by area at the end.
USAGE
}

DURATION=60 SAMPLE=60 EVERY=5 FIT=40 RATE=20M BURST=20 PERIOD=60 CHURN=5 STATUS=20 OUT=""
need() { [ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case $1 in
    -d|--duration) need "$@"; DURATION=$2; shift 2 ;;
    -s|--sample) need "$@"; SAMPLE=$2; shift 2 ;;
    -e|--every) need "$@"; EVERY=$2; shift 2 ;;
    -f|--fit) need "$@"; FIT=$2; shift 2 ;;
    -b|--rate) need "$@"; RATE=$2; shift 2 ;;
    --burst) need "$@"; BURST=$2; shift 2 ;;
    --period) need "$@"; PERIOD=$2; shift 2 ;;
    -c|--churn) need "$@"; CHURN=$2; shift 2 ;;
    --status) need "$@"; STATUS=$2; shift 2 ;;
    -o|--out) need "$@"; OUT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$DURATION" "$SAMPLE" "$EVERY" "$FIT" "$BURST" "$PERIOD" "$CHURN" "$STATUS"; do
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || { echo "not a whole number >= 1: $n" >&2; exit 2; }
done
[ "$BURST" -lt "$PERIOD" ] || { echo "--burst must be shorter than --period" >&2; exit 2; }

if [ "$(id -u)" -ne 0 ]; then
  echo "agent-soak.sh: must run as root (it creates network namespaces and TUN devices)" >&2; exit 1
fi
for cmd in ip iperf3 ping ss curl awk timeout; do
  command -v "$cmd" >/dev/null || { echo "agent-soak.sh: '$cmd' not found" >&2; exit 1; }
done

REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"
LATTICED=${LATTICED:-$REPO/bin/latticed}
LATTICE_CLI=${LATTICE_CLI:-$REPO/bin/lattice}
CONTROL=${LATTICE_CONTROL:-$REPO/bin/lattice-control}
TAILSCALED=${LATTICE_TAILSCALED:-}
TAILSCALE=${LATTICE_TAILSCALE:-}
JDK=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
for b in "$LATTICED" "$LATTICE_CLI" "$CONTROL" "$JDK/bin/jstat" "$JDK/bin/jcmd"; do
  [ -x "$b" ] || { echo "agent-soak.sh: '$b' not available (see --help)" >&2; exit 1; }
done
OFFICIAL=1
if [ -z "$TAILSCALED" ] || [ -z "$TAILSCALE" ] || [ ! -x "$TAILSCALED" ] || [ ! -x "$TAILSCALE" ]; then
  OFFICIAL=0
  echo "[soak] SKIPPING the official pair: LATTICE_TAILSCALED / LATTICE_TAILSCALE not set to executables" >&2
fi

ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
P=lt-s$ID
NS_SW=$P-sw
declare -A NS=([srv]=$P-srv [la]=$P-la [lb]=$P-lb)
declare -A ADDR=([srv]=10.204.0.2 [la]=10.204.0.11 [lb]=10.204.0.12 [oa]=10.204.0.21 [ob]=10.204.0.22)
KINDS=(l); HOSTS=(la lb)
if [ "$OFFICIAL" = 1 ]; then NS[oa]=$P-oa; NS[ob]=$P-ob; KINDS+=(o); HOSTS+=(oa ob); fi
WORK=$(mktemp -d /tmp/lattice-agent-soak-XXXXXX)
OUT=${OUT:-/tmp/lattice-soak-$ID}
mkdir -p "$OUT" || exit 1
PIDS=()        # our own processes, stopped on exit
declare -A DPID=() IP4=() PING=() GONE=()
CTL_PID=""
KEY=""

log() { echo "[soak $(date -u +%H:%M:%S)] $*" >&2; }

stop_pids() {
  local p
  for p in "$@"; do pkill -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  for p in "$@"; do
    for _ in $(seq 25); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
}

cleanup() {
  local ns
  trap - EXIT INT TERM HUP
  stop_pids "${PIDS[@]}"
  for ns in "${NS[@]}" "$NS_SW"; do
    if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
      ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
      ip netns del "$ns" 2>/dev/null || log "could not delete namespace $ns"
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------------------------------------------------------------- the lab, the server, the daemons


start_control() {
  local d=$WORK/control ip=${ADDR[srv]} i
  mkdir -p "$d"
  control_config "$d" "$ip" "Lattice soak DERP"
  ip netns exec "${NS[srv]}" "$CONTROL" serve -c "$d/config.yaml" >"$OUT/control.log" 2>&1 &
  CTL_PID=$!
  PIDS+=("$CTL_PID")
  for i in $(seq 240); do
    ip netns exec "${NS[srv]}" curl -sf -m 2 "http://$ip:8080/health" >/dev/null 2>&1 && return 0
    kill -0 "$CTL_PID" 2>/dev/null || { log "control exited: $(tail -5 "$OUT/control.log")"; return 1; }
    sleep 0.5
  done
  log "control not healthy after 120 s"; return 1
}

admin() { # METHOD PATH [JSON]: the control server's REST API over its admin socket
  curl -sS -m 30 --unix-socket "$WORK/control/control.sock" -X "$1" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "http://local/api/v1/$2"
}

start_daemon() { # HOST: latticed (l*) or tailscaled (o*); latticed B with NMT
  local h=$1 d=$WORK/$1 bin=$LATTICED tun=lattice0 extra=() jopts=${LATTICE_JAVA_OPTS:-} i
  mkdir -p "$d"
  case $h in o*) bin=$TAILSCALED tun=tailscale0 extra=(--no-logs-no-support) ;; esac
  [ "$h" = lb ] && jopts="$jopts -XX:NativeMemoryTracking=summary"
  LATTICE_JAVA_OPTS=$jopts TS_NO_LOGS_NO_SUPPORT=true ip netns exec "${NS[$h]}" "$bin" --statedir="$d" \
    --socket="$d/sock" --tun="$tun" --port=41641 "${extra[@]}" >"$OUT/$h.log" 2>&1 &
  DPID[$h]=$!
  PIDS+=("${DPID[$h]}")
  for i in $(seq 600); do
    [ -S "$d/sock" ] && return 0
    kill -0 "${DPID[$h]}" 2>/dev/null || { log "$bin exited: $(tail -3 "$OUT/$h.log" | tr '\n' ' ')"; return 1; }
    sleep 0.05
  done
  log "$h: no socket after 30 s"; return 1
}

cli() { # HOST ARGS...: the host's CLI on its daemon's socket
  local h=$1 bin=$LATTICE_CLI; shift
  case $h in o*) bin=$TAILSCALE ;; esac
  ip netns exec "${NS[$h]}" "$bin" --socket="$WORK/$h/sock" "$@"
}

up() { # HOST
  cli "$1" up --login-server="http://${ADDR[srv]}:8080" --authkey="$KEY" --hostname="$1" --accept-dns=false \
    >"$WORK/$1-up.out" 2>&1 || { log "$1: up failed: $(tail -2 "$WORK/$1-up.out" | tr '\n' ' ')"; return 1; }
}

tailnet_ip4() {
  ip netns exec "${NS[$1]}" curl -sS -m 6 --unix-socket "$WORK/$1/sock" http://local-tailscaled.sock/localapi/v0/status \
    2>/dev/null | tr -d '\n' | grep -oE '"TailscaleIPs": *\[[^]]*\]' | head -1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+' | head -1
}

# ---------------------------------------------------------------- load: bursts, pings, status calls, churn

# burst_loop KIND: every PERIOD s, BURST s of iperf3 at RATE from A to B's tailnet address, alternating direction
burst_loop() {
  local k=$1 a=${1}a b=${1}b n=0 rev=()
  while :; do
    rev=(); [ $((n % 2)) = 1 ] && rev=(-R)
    timeout $((BURST + 20)) ip netns exec "${NS[$a]}" iperf3 -c "${IP4[$b]}" -p 5201 -t "$BURST" -b "$RATE" -f m \
      --connect-timeout 3000 "${rev[@]}" >"$WORK/$k-burst.out" 2>&1
    if mb=$(awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "MBytes") v = $(i-1) } END { if (v == "") exit 1; print v }' "$WORK/$k-burst.out"); then
      echo "$(date +%s) ok $mb" >>"$OUT/$k-bursts.txt"
    else
      echo "$(date +%s) fail" >>"$OUT/$k-bursts.txt"
    fi
    n=$((n + 1))
    sleep $((PERIOD - BURST))
  done
}

status_loop() { # KIND
  local a=${1}a
  while :; do
    if cli "$a" status >/dev/null 2>&1; then echo ok; else echo fail; fi >>"$OUT/$1-status.txt"
    sleep "$STATUS"
  done
}

# churn_loop: every CHURN minutes each pair's B goes down for 10 s and up again; a made-up node joins the tailnet
# (every event but every third, when the oldest made-up node is deleted), so every daemon's netmap changes too
churn_loop() {
  local n=0 k id ids=() node
  while :; do
    sleep $((CHURN * 60))
    n=$((n + 1))
    for k in "${KINDS[@]}"; do cli "${k}b" down >/dev/null 2>&1 || log "${k}b: down failed"; done
    sleep 10
    for k in "${KINDS[@]}"; do up "${k}b"; done
    if [ $((n % 3)) = 0 ] && [ ${#ids[@]} -gt 0 ]; then
      admin DELETE "node/${ids[0]}" >/dev/null || log "could not delete made-up node ${ids[0]}"
      ids=("${ids[@]:1}")
    else
      id=soak$n$ID
      admin POST debug/node "{\"user\":\"soak\",\"key\":\"$id\",\"name\":\"sim-$n\"}" >/dev/null
      node=$(admin POST auth/register "{\"user\":\"soak\",\"authId\":\"$id\"}" | tr -d '\n ' | grep -oE '"id":"?[0-9]+' | head -1 | grep -oE '[0-9]+$')
      [ -n "$node" ] && ids+=("$node") || log "could not add made-up node $n"
    fi
    echo "$(date +%s) churn $n" >>"$OUT/churn.txt"
  done
}

# ---------------------------------------------------------------- samples

proc_count() { ls "/proc/$1/$2" 2>/dev/null | wc -l; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo NA; }
# heap in use after the last GC, KiB: survivor + old generation (they change only at a collection; eden is what
# was allocated since), from the JVM's perf counters (no safepoint, no attach)
heap_kib() {
  "$JDK/bin/jstat" -gc "$1" 2>/dev/null | awk 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
    NR == 2 { printf "%.0f", $c["S0U"] + $c["S1U"] + $c["OU"] }' || echo NA
}

# sample T: one line of samples.tsv: t_s load1 then per process (hosts, then control): rss_kib heap_kib threads fds
sample() {
  local h pid line="$1 $(cut -d' ' -f1 /proc/loadavg)"
  for h in "${HOSTS[@]}" ctl; do
    pid=${DPID[$h]:-$CTL_PID}
    [ "$h" = ctl ] && pid=$CTL_PID
    if kill -0 "$pid" 2>/dev/null; then
      local heap=NA
      case $h in l*|ctl) heap=$(heap_kib "$pid") ;; esac
      line+=" $(rss_kib "$pid") ${heap:-NA} $(proc_count "$pid" task) $(proc_count "$pid" fd)"
    else
      line+=" NA NA NA NA"
    fi
  done
  echo "$line" >>"$OUT/samples.tsv"
  echo "$line" | awk -v hosts="${HOSTS[*]} ctl" '{ n = split(hosts, h, " "); s = sprintf("t=%5.1f min load %s |", $1 / 60, $2)
    for (i = 1; i <= n; i++) { j = 3 + 4 * (i - 1); s = s sprintf(" %s %s MiB heap %s thr %s fd %s |", h[i], ($j == "NA" ? "NA" : sprintf("%.1f", $j / 1024)),
      ($(j+1) == "NA" ? "-" : sprintf("%.1f", $(j+1) / 1024)), $(j+2), $(j+3)) } print s }' >&2
}

# snapshots TAG: class histograms of both latticed (a full GC each: only at the start and the end), NMT of B
snapshots() {
  local h
  for h in la lb; do "$JDK/bin/jcmd" "${DPID[$h]}" GC.class_histogram >"$OUT/histo-$h-$1.txt" 2>&1; done
  "$JDK/bin/jcmd" "${DPID[lb]}" VM.native_memory summary >"$OUT/nmt-lb-$1.txt" 2>&1
}

# ---------------------------------------------------------------- main

log "lab $P-*; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); ${DURATION} min, sample every ${SAMPLE} s; out $OUT"
log "latticed: $LATTICED${LATTICE_JAR:+ (LATTICE_JAR=$LATTICE_JAR)}"
[ "$OFFICIAL" = 1 ] && log "tailscaled: $TAILSCALED ($("$TAILSCALED" --version 2>/dev/null | head -1))"
lab_build || { log "cannot build the lab"; exit 1; }
start_control || exit 1
for h in "${HOSTS[@]}"; do start_daemon "$h" || exit 1; done
admin POST user '{"name":"soak"}' >/dev/null || exit 1
KEY=$(admin POST preauthkey "{\"user\":\"soak\",\"reusable\":true,\"expiration\":\"$(date -u -d "+$((DURATION + 60)) min" +%Y-%m-%dT%H:%M:%SZ)\"}" |
  grep -oE '"key": *"[^"]+"' | head -1 | sed 's/.*"\([^"]*\)"$/\1/')
[ -n "$KEY" ] || { log "no pre-auth key"; exit 1; }
for h in "${HOSTS[@]}"; do up "$h" || exit 1; IP4[$h]=$(tailnet_ip4 "$h"); done
log "up: $(for h in "${HOSTS[@]}"; do printf '%s=%s pid %s  ' "$h" "${IP4[$h]}" "${DPID[$h]}"; done)control pid $CTL_PID"
for k in "${KINDS[@]}"; do
  ip netns exec "${NS[${k}b]}" iperf3 -s -p 5201 >/dev/null 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do [ -n "$(ip netns exec "${NS[${k}b]}" ss -Hltn 'sport = :5201')" ] && break; sleep 0.05; done
  ip netns exec "${NS[${k}a]}" ping -c 3 -W 2 "${IP4[${k}b]}" >/dev/null 2>&1 || log "${k}a: first ping to B failed"
done
# a minute of the load before the first sample, so the curve starts after the JIT's and the first transfer's growth
for k in "${KINDS[@]}"; do
  ip netns exec "${NS[${k}a]}" ping -i 1 -W 2 "${IP4[${k}b]}" >"$OUT/$k-ping.txt" 2>&1 &
  PING[$k]=$!; PIDS+=($!)
  burst_loop "$k" & PIDS+=($!); disown $!
  status_loop "$k" & PIDS+=($!); disown $!
done
# (disowned: the loops end by a signal, and bash would print "Terminated" for each into the table)
churn_loop & PIDS+=($!); disown $!
sleep 60
snapshots start
"$JDK/bin/jcmd" "${DPID[lb]}" VM.native_memory baseline >/dev/null 2>&1
echo "# t_s load1 $(for h in "${HOSTS[@]}" ctl; do printf '%s_rss_kib %s_heap_kib %s_threads %s_fds ' "$h" "$h" "$h" "$h"; done)" >"$OUT/samples.tsv"
t0=$(date +%s)
end=$((t0 + DURATION * 60))
next=$t0
while :; do
  now=$(date +%s)
  [ "$now" -ge "$next" ] && { sample $((now - t0)); next=$((next + SAMPLE)); }
  [ "$now" -ge "$end" ] && break
  for h in "${HOSTS[@]}" ctl; do
    pid=${DPID[$h]:-}; [ "$h" = ctl ] && pid=$CTL_PID
    if [ -z "${GONE[$h]:-}" ] && ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"; GONE[$h]=$?; log "$h (pid $pid) is gone: exit status ${GONE[$h]}"
    fi
  done
  sleep $(( next - now > 5 ? 5 : (next - now > 0 ? next - now : 1) ))
done
[ "$(tail -1 "$OUT/samples.tsv" | cut -d' ' -f1)" -lt $((DURATION * 60)) ] && sample $(( $(date +%s) - t0 ))
snapshots end
"$JDK/bin/jcmd" "${DPID[lb]}" VM.native_memory summary.diff >"$OUT/nmt-lb-diff.txt" 2>&1

# ---------------------------------------------------------------- the report

names() { case $1 in la) echo "latticed A" ;; lb) echo "latticed B (NMT)" ;; oa) echo "tailscaled A" ;; ob) echo "tailscaled B" ;; ctl) echo "lattice-control" ;; esac; }
echo "## agent-soak: ${DURATION} min, sample every ${SAMPLE} s, bursts of ${BURST} s at ${RATE}bit/s every ${PERIOD} s per pair, churn every ${CHURN} min"
[ "$OFFICIAL" = 1 ] || echo "(official pair SKIPPED: LATTICE_TAILSCALED / LATTICE_TAILSCALE not set)"
echo
echo "RSS MiB (heap after last GC MiB, latticed and lattice-control) every ${EVERY} min:"
echo
awk -v every=$((EVERY * 60)) -v hosts="${HOSTS[*]} ctl" -v sample="$SAMPLE" '
  /^#/ { next }
  { final = $0; if (n > 0 && int($1 / every) == last) next; last = int($1 / every); rows[++n] = $0 }
  END {
    if (final != rows[n]) rows[++n] = final
    m = split(hosts, h, " ")
    printf "| min | load |"; for (i = 1; i <= m; i++) printf " %s |", h[i]; print ""
    printf "|---|---|"; for (i = 1; i <= m; i++) printf "---|"; print ""
    for (r = 1; r <= n; r++) {
      split(rows[r], f, " "); printf "| %.0f | %s |", f[1] / 60, f[2]
      for (i = 1; i <= m; i++) { j = 3 + 4 * (i - 1)
        cell = (f[j] == "NA" ? "gone" : sprintf("%.1f", f[j] / 1024))
        if (f[j+1] != "NA") cell = cell sprintf(" (%.1f)", f[j+1] / 1024)
        printf " %s |", cell }
      print ""
    }
  }' "$OUT/samples.tsv"
echo
echo "Threads / fds at the first and last sample; least-squares slope over the last $FIT min (MiB/hour):"
echo
echo "| process | RSS first → last MiB | RSS slope MiB/h | heap first → last MiB | heap slope MiB/h | threads | fds |"
echo "|---|---|---|---|---|---|---|"
last_t=$(tail -1 "$OUT/samples.tsv" | cut -d' ' -f1)
from=$(( last_t - FIT * 60 )); [ "$from" -lt 0 ] && from=0
i=0
for h in "${HOSTS[@]}" ctl; do
  awk -v j=$((3 + 4 * i)) -v from="$from" -v name="$(names "$h")" '
    function slope(sx, sy, sxx, sxy, n) { return (n < 2 || n * sxx - sx * sx == 0) ? "n/a" : sprintf("%+.1f", (n * sxy - sx * sy) / (n * sxx - sx * sx) * 3600 / 1024) }
    /^#/ { next }
    $j == "NA" { next }
    { if (first == "") { first = $j; fh = $(j+1); ft = $(j+2); ff = $(j+3) }
      last = $j; lh = $(j+1); lt = $(j+2); lf = $(j+3)
      if ($1 >= from) { n++; x = $1; sx += x; sy += $j; sxx += x * x; sxy += x * $j
        if ($(j+1) != "NA") { hn++; hx += x; hy += $(j+1); hxx += x * x; hxy += x * $(j+1) } } }
    END {
      heap = (fh == "NA" || fh == "") ? "–" : sprintf("%.1f → %.1f", fh / 1024, lh / 1024)
      hs = (hn < 2) ? "–" : slope(hx, hy, hxx, hxy, hn)
      printf "| %s | %.1f → %.1f | %s | %s | %s | %s → %s | %s → %s |\n", name, first / 1024, last / 1024, slope(sx, sy, sxx, sxy, n), heap, hs, ft, lt, ff, lf
    }' "$OUT/samples.tsv"
  i=$((i + 1))
done
echo
for k in "${KINDS[@]}"; do
  kill -INT "${PING[$k]}" 2>/dev/null; sleep 1
  tx=$(grep -oE '^[0-9]+ packets transmitted' "$OUT/$k-ping.txt" | grep -oE '^[0-9]+')
  rx=$(grep -c 'bytes from' "$OUT/$k-ping.txt")
  ok=$(grep -c ' ok ' "$OUT/$k-bursts.txt" 2>/dev/null); bad=$(grep -c ' fail' "$OUT/$k-bursts.txt" 2>/dev/null)
  mb=$(awk '$2 == "ok" { s += $3 } END { printf "%.0f", s }' "$OUT/$k-bursts.txt" 2>/dev/null)
  sok=$(grep -cx ok "$OUT/$k-status.txt" 2>/dev/null); sbad=$(grep -cx fail "$OUT/$k-status.txt" 2>/dev/null)
  echo "- $([ "$k" = l ] && echo latticed || echo tailscaled) pair: ${mb:-0} MB in ${ok:-0} bursts (${bad:-0} failed), pings answered ${rx:-0} of ${tx:-?}, status calls ${sok:-0} ok / ${sbad:-0} failed"
done
echo "- churn events: $(wc -l <"$OUT/churn.txt" 2>/dev/null || echo 0); load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- raw samples, class histograms (histo-*-start/end), latticed B's NMT diff (nmt-lb-diff.txt) and logs: $OUT"
exit 0
