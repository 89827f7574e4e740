#!/usr/bin/env bash
# agent-footprint.sh: how native the node agent feels, latticed + lattice against tailscaled + tailscale, both pairs
# on one LAN in the same run: CLI call times, `up`, up -> direct, idle RSS with 1 and N peers, cold and warm
# tunnel throughput. Prints one markdown table (stdout) with lattice/official ratios. See bench/README.md.
#
#   sudo bench/agent-footprint.sh [-n CALLS] [-c SECONDS] [-t SECONDS] [-w SECONDS] [-i SECONDS] [-N PEERS] [-r] [-k] [-U] [-S SECONDS] [-J]
#
# The lab (namespaces lt-f<id>-*): one switch (bridge br0, 10.201.0.0/24) with
#   srv-l 10.201.0.2   lattice-control for the lattice pair      la 10.201.0.11  lb 10.201.0.12   latticed
#   srv-o 10.201.0.3   lattice-control for the official pair     oa 10.201.0.21  ob 10.201.0.22   tailscaled
# Each pair has its own control server, so each node's netmap holds exactly its own peers. Everything is deleted on
# exit, also on failure or Ctrl-C; no route leads out of the lab.
set -uo pipefail

usage() {
  cat <<USAGE
usage: $0 [-n CALLS] [-c SECONDS] [-t SECONDS] [-w SECONDS] [-i SECONDS] [-N PEERS] [-r] [-k] [-U] [-S SECONDS] [-J]
  -n CALLS    CLI calls per command, median reported (default 20)
  -c SECONDS  cold transfer right after the direct path is up, both directions at once (default 5)
  -t SECONDS  warm transfer per direction (default 10), after an unmeasured warm-up of -w SECONDS (default 5)
  -i SECONDS  idle time before each RSS reading (default 20)
  -N PEERS    peers for the second RSS reading: PEERS-1 made-up nodes are added (default 100)
  -r          official pair first where pairs take turns (default: lattice first)
  -k          keep the logs and state directories (the directory is printed)
  -S SECONDS  wait this long after starting the daemons before the first \`up\` (default 0: at once, so the first
              pair's A shares the CPU with every daemon's and both servers' start-up, the other pair's does not; -r
              swaps who pays that)
  -U          only \`up\`, up -> direct and the cold transfer (no CLI calls, warm transfer or RSS readings): a
              quick before/after for the start path
  -J          both latticed log their JIT's work (-XX:+LogCompilation); printed at the end: the compile time and the
              uncommon traps of the cold transfer's first second (bench/jit-window.py, needs python3). The options
              key latticed's AOT cache: the first run with -J has none and trains one; measure with the second.
environment:
  LATTICED, LATTICE_CLI   latticed and its CLI (default: <repo>/bin/latticed, <repo>/bin/lattice)
  LATTICE_TAILSCALED, LATTICE_TAILSCALE   official tailscaled and tailscale (required)
  LATTICE_CONTROL         the control server launcher (default: <repo>/bin/lattice-control; honours LATTICE_JAR)
  LATTICE_CONTROL_JAR     lattice.jar for the control servers only (default: LATTICE_JAR), so that latticed
                          from an older build can be measured against the same server
USAGE
}

[ "${1:-}" = --help ] && { usage; exit 0; }
CALLS=20 COLD=5 WARM=10 WARMUP=5 IDLE=20 PEERS=100 REVERSE=0 KEEP=0 UPONLY=0 SETTLE=0 JITLOG=0
while getopts "n:c:t:w:i:N:rkUS:Jh" opt; do
  case $opt in
    n) CALLS=$OPTARG ;;
    c) COLD=$OPTARG ;;
    t) WARM=$OPTARG ;;
    w) WARMUP=$OPTARG ;;
    i) IDLE=$OPTARG ;;
    N) PEERS=$OPTARG ;;
    r) REVERSE=1 ;;
    k) KEEP=1 ;;
    U) UPONLY=1 ;;
    S) SETTLE=$OPTARG ;;
    J) JITLOG=1 ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
for n in "$CALLS" "$COLD" "$WARM" "$PEERS"; do
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || { echo "not a whole number >= 1: $n" >&2; exit 2; }
done
for n in "$WARMUP" "$IDLE" "$SETTLE"; do [[ $n =~ ^[0-9]+$ ]] || { echo "not a whole number: $n" >&2; exit 2; }; done
[ "$PEERS" -ge 2 ] || { echo "-N must be at least 2" >&2; exit 2; }

if [ "$(id -u)" -ne 0 ]; then
  echo "agent-footprint.sh: must run as root (it creates network namespaces and TUN devices)" >&2
  exit 1
fi
for cmd in ip iperf3 ss curl awk timeout sort; do
  command -v "$cmd" >/dev/null || { echo "agent-footprint.sh: '$cmd' not found" >&2; exit 1; }
done

REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"
LATTICED=${LATTICED:-$REPO/bin/latticed}
LATTICE_CLI=${LATTICE_CLI:-$REPO/bin/lattice}
TAILSCALED=${LATTICE_TAILSCALED:-}
TAILSCALE=${LATTICE_TAILSCALE:-}
CONTROL=${LATTICE_CONTROL:-$REPO/bin/lattice-control}
CONTROL_JAR=${LATTICE_CONTROL_JAR:-${LATTICE_JAR:-}}
for b in "$LATTICED" "$LATTICE_CLI" "$TAILSCALED" "$TAILSCALE" "$CONTROL"; do
  [ -n "$b" ] && [ -x "$b" ] || { echo "agent-footprint.sh: binary '${b:-<unset>}' not available (see -h)" >&2; exit 1; }
done

ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
P=lt-f$ID
NS_SW=$P-sw
declare -A NS=([srv-l]=$P-srvl [srv-o]=$P-srvo [la]=$P-la [lb]=$P-lb [oa]=$P-oa [ob]=$P-ob)
declare -A ADDR=([srv-l]=10.201.0.2 [srv-o]=10.201.0.3 [la]=10.201.0.11 [lb]=10.201.0.12 [oa]=10.201.0.21 [ob]=10.201.0.22)
WORK=$(mktemp -d /tmp/lattice-agent-footprint-XXXXXX)
PIDS=()
declare -A DPID=()     # daemon pid by host (la, lb, oa, ob)
declare -A CPID=()     # control server pid by kind (l, o)

log() { echo "[footprint] $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

stop_pids() {
  local p
  for p in "$@"; do kill "$p" 2>/dev/null; done
  for p in "$@"; do
    for _ in $(seq 25); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
}

cleanup() {
  local ns h
  stop_pids "${PIDS[@]}"
  # HotSpot merges its compiler threads' logs into the file only as the JVM exits
  if [ "$JITLOG" = 1 ] && [ -s "$WORK/l-cold.t0" ]; then
    for h in la lb; do
      python3 "$REPO/bench/jit-window.py" "$WORK/jit-$h-pid${DPID[$h]}.log" "$(cat "$WORK/l-cold.t0")" 2>&1 | sed "s/^/[footprint] $h: /" >&2
    done
  fi
  for ns in "${NS[@]}" "$NS_SW"; do
    if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
      ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
      ip netns del "$ns" 2>/dev/null || log "could not delete namespace $ns"
    fi
  done
  if [ "$KEEP" = 1 ]; then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------------------------------------------------------------- the lab


# ---------------------------------------------------------------- control servers (one per pair)

# start_control KIND (l or o): lattice-control in srv-KIND, fresh state
start_control() {
  local k=$1 d=$WORK/control-$1 srv=srv-$1
  local ip=${ADDR[$srv]}
  mkdir -p "$d"
  control_config "$d" "$ip" "Lattice bench DERP"
  LATTICE_JAR=$CONTROL_JAR ip netns exec "${NS[$srv]}" "$CONTROL" serve -c "$d/config.yaml" >"$WORK/control-$k.log" 2>&1 &
  CPID[$k]=$!
  PIDS+=("${CPID[$k]}")
}

wait_control() {
  local k=$1 i
  for i in $(seq 240); do
    ip netns exec "${NS[srv-$k]}" curl -sf -m 2 "http://${ADDR[srv-$k]}:8080/health" >/dev/null 2>&1 && return 0
    kill -0 "${CPID[$k]}" 2>/dev/null || { log "control $k exited: $(tail -5 "$WORK/control-$k.log")"; return 1; }
    sleep 0.5
  done
  log "control $k not healthy after 120 s"; return 1
}

# admin KIND METHOD PATH [JSON]: the control server's REST API over its admin socket (no CLI JVM per call)
admin() {
  local k=$1 m=$2 p=$3 body=${4:-}
  curl -sS -m 30 --unix-socket "$WORK/control-$k/control.sock" -X "$m" -H 'Content-Type: application/json' \
    ${body:+--data "$body"} "http://local/api/v1/$p"
}

# ---------------------------------------------------------------- daemons

# start_daemon HOST: latticed (la, lb) or tailscaled (oa, ob) in the host's namespace; waits for its socket
start_daemon() {
  local h=$1 d=$WORK/$1 bin=$LATTICED tun=lattice0 extra=() i
  mkdir -p "$d"
  local jopts=${LATTICE_JAVA_OPTS:-}
  case $h in o*) bin=$TAILSCALED tun=tailscale0 extra=(--no-logs-no-support) ;; esac
  [ "$JITLOG" = 1 ] && jopts="$jopts -XX:+UnlockDiagnosticVMOptions -XX:+LogCompilation -XX:LogFile=$WORK/jit-$h-%p.log"
  LATTICE_JAVA_OPTS=$jopts TS_NO_LOGS_NO_SUPPORT=true TS_DEBUG_USE_DERP_HTTP=1 ip netns exec "${NS[$h]}" "$bin" --statedir="$d" \
    --socket="$d/sock" --tun="$tun" --port=41641 "${extra[@]}" >"$WORK/$h.log" 2>&1 &
  DPID[$h]=$!
  PIDS+=("${DPID[$h]}")
  for i in $(seq 600); do
    [ -S "$d/sock" ] && return 0
    kill -0 "${DPID[$h]}" 2>/dev/null || { log "$bin exited: $(tail -3 "$WORK/$h.log" | tr '\n' ' ')"; return 1; }
    sleep 0.05
  done
  log "$h: no socket after 30 s"; return 1
}

# cli HOST ARGS...: the host's CLI (lattice or tailscale) on its daemon's socket
cli() {
  local h=$1 bin=$LATTICE_CLI; shift
  case $h in o*) bin=$TAILSCALE ;; esac
  ip netns exec "${NS[$h]}" "$bin" --socket="$WORK/$h/sock" "$@"
}

localapi() { # HOST METHOD PATH
  ip netns exec "${NS[$1]}" curl -sS -m 6 --unix-socket "$WORK/$1/sock" -X "$2" "http://local-tailscaled.sock/localapi/v0/$3"
}

tailnet_ip4() { # HOST: the daemon's first IPv4 tailnet address
  localapi "$1" GET status 2>/dev/null | tr -d '\n' | grep -oE '"TailscaleIPs": *\[[^]]*\]' | head -1 |
    grep -oE '[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+' | head -1
}

peer_count() { # HOST: peers in the daemon's status
  localapi "$1" GET status 2>/dev/null | tr -d '\n ' | grep -oE '"PublicKey":"nodekey:[0-9a-f]+"' | sort -u | wc -l
}

# jit_ticks PID: CPU ticks (10 ms) used so far by the process's JIT compiler threads (HotSpot names them
# "C1/C2 CompilerThre..."); 0 for a process without them
jit_ticks() {
  cat /proc/"$1"/task/*/stat 2>/dev/null | awk '/\((C1|C2) CompilerThre/ { sub(/^.*\) /, ""); n += $12 + $13 } END { print n + 0 }'
}

rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

declare -A R=()   # R[kind,metric]

# ---------------------------------------------------------------- up, direct, cold transfer

# up_pair KIND (l or o): A up, then B up (each timed alone), then from B's start until A's disco ping to B goes
# direct
up_pair() {
  local k=$1 a=${1}a b=${1}b key t0 ta tb ip_b via="" deadline out
  admin "$k" POST user "{\"name\":\"bench-$k\"}" >/dev/null || return 1
  key=$(admin "$k" POST preauthkey "{\"user\":\"bench-$k\",\"reusable\":true,\"expiration\":\"$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\"}" |
    grep -oE '"key": *"[^"]+"' | head -1 | sed 's/.*"\([^"]*\)"$/\1/')
  [ -n "$key" ] || { log "$k: no pre-auth key"; return 1; }
  local url=http://${ADDR[srv-$k]}:8080
  t0=$(now)
  cli "$a" up --login-server="$url" --authkey="$key" --hostname="$a" --accept-dns=false >"$WORK/$a-up.out" 2>&1 ||
    { log "$a: up failed: $(tail -2 "$WORK/$a-up.out")"; return 1; }
  ta=$(since "$t0")
  t0=$(now)
  cli "$b" up --login-server="$url" --authkey="$key" --hostname="$b" --accept-dns=false >"$WORK/$b-up.out" 2>&1 ||
    { log "$b: up failed: $(tail -2 "$WORK/$b-up.out")"; return 1; }
  tb=$(since "$t0")
  # Where up -> direct goes after B's up: each local API call's end, from B's up (the daemons' work right after an up
  # slows them)
  local steps="up B $tb"
  ip_b=$(tailnet_ip4 "$b")
  steps="$steps, B's address $(since "$t0")"
  IPB[$k]=$ip_b
  IPA[$k]=$(tailnet_ip4 "$a")
  steps="$steps, A's address $(since "$t0")"
  deadline=$(( $(date +%s) + 60 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    out=$(localapi "$a" POST "ping?ip=$ip_b&type=disco" 2>/dev/null | tr -d '\n')
    via=$(grep -oE '"Endpoint": *"[0-9.]+:[0-9]+"' <<<"$out" | grep -oE '[0-9.]+:[0-9]+')
    steps="$steps, ping $(since "$t0")${via:+ direct}"
    [ -n "$via" ] && break
    sleep 0.1
  done
  R[$k,direct]=$( [ -n "$via" ] && since "$t0" || echo none)
  R[$k,up]=$(awk -v a="$ta" -v b="$tb" 'BEGIN { printf "%.3f", (a + b) / 2 }')
  log "$k: after B's up began (s): $steps"
  log "$k: up A ${ta}s, up B ${tb}s; A sees B ($ip_b) direct at ${via:-?} ${R[$k,direct]}s after B's up began"
}

# cold_pair KIND: the first bulk traffic through the pair's new tunnel, both directions at once
cold_pair() {
  local k=$1 jit0 jit1
  jit0=$(( $(jit_ticks "${DPID[${k}a]}") + $(jit_ticks "${DPID[${k}b]}") ))
  ( sleep 1; echo $(( $(jit_ticks "${DPID[${k}a]}") + $(jit_ticks "${DPID[${k}b]}") )) >"$WORK/$k-jit1" ) &
  iperf "$k" "$COLD" --bidir >"$WORK/$k-cold.out"
  mv -f "$WORK/$k-iperf.t0" "$WORK/$k-cold.t0" 2>/dev/null
  jit1=$(cat "$WORK/$k-jit1" 2>/dev/null || echo "$jit0")
  # A JVM's compilers still at work when the traffic starts take CPU from it and run its first second on slower
  # code: their CPU in that second is a steadier reading of a cold start than the throughput (0 for a Go daemon)
  log "$k: JIT compiler CPU in the first second of traffic, both daemons: $(( (jit1 - jit0) * 10 )) ms"
  R[$k,cold_ab]=$(awk '/TX-C/ && /receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") v = $(i-1) } END { print (v == "" ? "FAIL" : v) }' "$WORK/$k-cold.out")
  R[$k,cold_ba]=$(awk '/RX-C/ && /receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") v = $(i-1) } END { print (v == "" ? "FAIL" : v) }' "$WORK/$k-cold.out")
  log "$k: cold ${COLD}s both ways: A->B ${R[$k,cold_ab]}, B->A ${R[$k,cold_ba]} Mbit/s"
  # Second by second, both directions summed: where a cold start's ramp shows (iperf3's interval lines)
  log "$k: cold per second, both ways summed: $(awk '/(TX|RX)-C/ && !/sender|receiver/ { for (i = 1; i <= NF; i++) { if ($i ~ /^[0-9.]+-[0-9.]+$/) { split($i, t, "-"); s = int(t[1]) } if ($i == "Mbits/sec") v = $(i-1) } sum[s] += v; if (s > m) m = s } END { for (i = 0; i <= m; i++) printf "%d ", sum[i] }' "$WORK/$k-cold.out")Mbit/s"
}
declare -A IPA=() IPB=()

# iperf KIND SECONDS [iperf3 client options]: server in B, client in A, over the tailnet; prints iperf3's output
iperf() {
  local k=$1 secs=$2 spid i; shift 2
  ip netns exec "${NS[${k}b]}" iperf3 -s -1 -B "${IPB[$k]}" -p 5201 >/dev/null 2>&1 &
  spid=$!
  for i in $(seq 100); do
    [ -n "$(ip netns exec "${NS[${k}b]}" ss -Hltn 'sport = :5201')" ] && break
    sleep 0.05
  done
  date +%s.%N >"$WORK/$k-iperf.t0" # the transfer's start, for -J
  timeout $((secs + 30)) ip netns exec "${NS[${k}a]}" iperf3 -c "${IPB[$k]}" -p 5201 -t "$secs" -f m --connect-timeout 5000 "$@" 2>&1
  stop_pids "$spid"
}

receiver_mbits() { awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") v = $(i-1) } END { print (v == "" ? "FAIL" : v) }'; }

warm_pair() {
  local k=$1
  if [ "$WARMUP" -gt 0 ]; then
    iperf "$k" "$WARMUP" >/dev/null
    iperf "$k" "$WARMUP" -R >/dev/null
  fi
  R[$k,warm_ab]=$(iperf "$k" "$WARM" | tee "$WORK/$k-warm-ab.out" | receiver_mbits)
  R[$k,warm_ba]=$(iperf "$k" "$WARM" -R | tee "$WORK/$k-warm-ba.out" | receiver_mbits)
  log "$k: warm ${WARM}s: A->B ${R[$k,warm_ab]}, B->A ${R[$k,warm_ba]} Mbit/s"
}

# ---------------------------------------------------------------- CLI calls

# time_call HOST ARGS...: wall ms of one call (output discarded)
time_call() {
  local s e
  s=$(date +%s%N); cli "$@" >/dev/null 2>&1; e=$(date +%s%N)
  echo $(( (e - s) / 1000000 ))
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] / 1000 }'; }

cli_calls() {
  local i k c first order=(l o)
  [ "$REVERSE" = 1 ] && order=(o l)
  declare -A T=()
  # the first call of each (a JVM CLI's first call may differ: the daemon's side is cold)
  for k in "${order[@]}"; do
    first=$(time_call "${k}a" status)
    log "$k: first status call after up: ${first} ms"
  done
  for i in $(seq "$CALLS"); do
    for k in "${order[@]}"; do
      T[$k,status]+=" $(time_call "${k}a" status)"
      T[$k,ip]+=" $(time_call "${k}a" ip)"
      T[$k,version]+=" $(time_call "${k}a" version)"
      T[$k,ping]+=" $(time_call "${k}a" ping "${IPB[$k]}")"
    done
  done
  for k in l o; do
    for c in status ip version ping; do R[$k,$c]=$(median <<<"${T[$k,$c]}"); done
    log "$k: CLI medians of $CALLS: status ${R[$k,status]} s, ip ${R[$k,ip]} s, version ${R[$k,version]} s, ping ${R[$k,ping]} s"
  done
  cli la ping "${IPB[l]}" | sed 's/^/[footprint]   la: /' >&2
  cli oa ping "${IPB[o]}" | sed 's/^/[footprint]   oa: /' >&2
}

# ---------------------------------------------------------------- RSS

# rss_reading LABEL: after IDLE seconds, the RSS of every daemon; R[kind,LABEL] is A's
rss_reading() {
  local label=$1 h
  log "idle ${IDLE}s before the RSS reading ($label)"
  sleep "$IDLE"
  for h in la lb oa ob; do
    local v; v=$(rss_mib "${DPID[$h]}")
    log "$h: RSS $v MiB ($label)"
    [ "$h" = la ] && R[l,$label]=$v
    [ "$h" = oa ] && R[o,$label]=$v
  done
}

# add_peers KIND COUNT: COUNT made-up nodes of the pair's user (registered, so they are every node's peers)
add_peers() {
  local k=$1 n=$2 i id
  for i in $(seq "$n"); do
    id=bench$k$i$ID
    admin "$k" POST debug/node "{\"user\":\"bench-$k\",\"key\":\"$id\",\"name\":\"sim-$k-$i\"}" >/dev/null &&
      admin "$k" POST auth/register "{\"user\":\"bench-$k\",\"authId\":\"$id\"}" >/dev/null ||
      { log "$k: could not add node $i"; return 1; }
  done
}

wait_peers() { # HOST WANT
  local i c
  for i in $(seq 120); do
    c=$(peer_count "$1")
    [ "$c" -ge "$2" ] && { log "$1: $c peers"; return 0; }
    sleep 0.5
  done
  log "$1: only $c of $2 peers after 60 s"
  return 1
}

# ---------------------------------------------------------------- main

log "lab $P-*; $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
log "latticed: $LATTICED, lattice: $LATTICE_CLI${LATTICE_JAR:+ (LATTICE_JAR=$LATTICE_JAR)}"
log "tailscaled: $TAILSCALED ($("$TAILSCALED" --version 2>/dev/null | head -1))"
lab_build || { log "cannot build the lab"; exit 1; }
start_control l; start_control o
wait_control l && wait_control o || exit 1
for h in la lb oa ob; do start_daemon "$h" || exit 1; done
log "daemons: latticed ${DPID[la]} ${DPID[lb]}, tailscaled ${DPID[oa]} ${DPID[ob]}"

if [ "$SETTLE" -gt 0 ]; then log "settling ${SETTLE}s before the first up"; sleep "$SETTLE"; fi
order=(l o); [ "$REVERSE" = 1 ] && order=(o l)
for k in "${order[@]}"; do up_pair "$k" || exit 1; done
# idle with one peer, before any traffic (no data has gone through the tunnels yet: their data paths stay cold)
[ "$UPONLY" = 1 ] || rss_reading rss0
for k in "${order[@]}"; do cold_pair "$k"; done
if [ "$UPONLY" = 0 ]; then
  cli_calls
  for k in "${order[@]}"; do warm_pair "$k"; done
  rss_reading rss1
  for k in "${order[@]}"; do add_peers "$k" $((PEERS - 2)) || exit 1; done
  for h in la oa; do wait_peers "$h" $((PEERS - 1)); done
  rss_reading rssN
fi

# ---------------------------------------------------------------- the table

num() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
ratio() { # L O
  if num "$1" && num "$2" && [ "$(awk -v o="$2" 'BEGIN { print (o > 0) }')" = 1 ]; then
    awk -v l="$1" -v o="$2" 'BEGIN { printf "%.2fx", l / o }'
  else echo "n/a"; fi
}
row() { # LABEL METRIC: nothing for a metric this run did not measure (-U)
  [ -z "${R[l,$2]:-}${R[o,$2]:-}" ] && return
  echo "| $1 | ${R[l,$2]:-?} | ${R[o,$2]:-?} | $(ratio "${R[l,$2]:-}" "${R[o,$2]:-}") |"
}
echo "| metric | latticed / lattice | tailscaled / tailscale | lattice / official |"
echo "|---|---|---|---|"
row "\`status\` s (median of $CALLS)" status
row "\`ip\` s (median of $CALLS)" ip
row "\`version\` s (median of $CALLS)" version
row "\`ping\` s, direct peer (median of $CALLS)" ping
row "\`up\` s (mean of A, B)" up
row "up -> direct s (from B's \`up\`)" direct
row "RSS MiB, idle, 1 peer (after \`up\`)" rss0
row "RSS MiB, idle, 1 peer (after traffic)" rss1
row "RSS MiB, idle, $((PEERS - 1)) peers (after traffic)" rssN
row "cold A->B Mbit/s (first ${COLD} s of traffic, both ways at once)" cold_ab
row "cold B->A Mbit/s (first ${COLD} s of traffic, both ways at once)" cold_ba
row "warm A->B Mbit/s (${WARM} s)" warm_ab
row "warm B->A Mbit/s (${WARM} s)" warm_ba
exit 0
