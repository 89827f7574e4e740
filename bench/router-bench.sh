#!/usr/bin/env bash
# router-bench.sh: iperf3 through a subnet router and through an exit node, latticed against the official
# tailscaled in the same roles, in the same run. See bench/README.md.
#
#   sudo bench/router-bench.sh [-t SECONDS] [-w SECONDS] [-r ROUNDS] [-p KINDS] [-k]
#
# The lab (namespaces lt-r<id>-*), one control server for both kinds, each kind with its own router and LAN:
#
#   ctl 203.0.113.1 (lattice-control)        isp 203.0.113.254 ---- net 198.51.100.0/24 ---- inet 198.51.100.80
#        |                                      |                                         (iperf3: "the internet")
#   switch "wan" 203.0.113.0/24 ----------------+
#        |                 |                 |                 |
#   r-lattice .10     c-lattice .11     r-official .20    c-official .21
#        |                                   |
#   lan 192.168.77.0/24                 lan 192.168.78.0/24
#   l-lattice .10 (iperf3)              l-official .10 (iperf3)
#
# For each kind: the router advertises its LAN and an exit node (routes approved by the admin CLI), the client
# accepts routes and uses the router as its exit node (the LAN's own route is more specific, so both roles are set
# up at once). Then, ROUNDS times, each kind in turn: iperf3 TCP client -> LAN host (subnet router, source NAT on)
# and client -> internet host (exit node), each way (-R for the download). One transfer runs at a time, so the
# kinds never compete for the CPU; interleaving them spreads the machine's other load over both, and each cell is
# the median of the rounds. A second table gives the CPU time both daemons (router and client) spent per Gbit
# transferred, which the machine's other load disturbs less than throughput. Everything is deleted on exit, Ctrl-C
# included.
set -uo pipefail

usage() {
  cat <<USAGE
usage: $0 [-t SECONDS] [-w SECONDS] [-r ROUNDS] [-p KINDS] [-k]
  -t SECONDS  iperf3 duration per direction (default 10)
  -w SECONDS  unmeasured iperf3 warm-up before each measured one (default 2; 0: none)
  -r ROUNDS   measurements per cell, kinds interleaved; the table shows the median (default 3)
  -p KINDS    comma-separated subset of: lattice, official (default: both, in that order)
  -k          keep the logs and state directories (the directory is printed)
environment:
  LATTICED, LATTICE_CLI   latticed and its CLI (default: <repo>/bin/latticed, <repo>/bin/lattice)
  LATTICE_TAILSCALED, LATTICE_TAILSCALE
                          official tailscaled and tailscale CLI (the official kind is skipped when unset)
  LATTICE_CONTROL         the control server launcher (default: <repo>/bin/lattice-control)
USAGE
}

DURATION=10 WARMUP=2 ROUNDS=3 KINDS="lattice,official" KEEP=0
while getopts "t:w:r:p:kh" opt; do
  case $opt in
    t) DURATION=$OPTARG ;;
    w) WARMUP=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    p) KINDS=$OPTARG ;;
    k) KEEP=1 ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[[ $DURATION =~ ^[0-9]+$ ]] && [ "$DURATION" -ge 1 ] || { echo "not a whole number >= 1: $DURATION" >&2; exit 2; }
[[ $WARMUP =~ ^[0-9]+$ ]] || { echo "not a whole number: $WARMUP" >&2; exit 2; }
[[ $ROUNDS =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ] || { echo "not a whole number >= 1: $ROUNDS" >&2; exit 2; }
for k in ${KINDS//,/ }; do
  case $k in lattice|official) ;; *) echo "unknown kind: $k (lattice, official)" >&2; exit 2 ;; esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "router-bench.sh: must run as root (it creates network namespaces and TUN devices)" >&2
  exit 1
fi
for cmd in ip nft iperf3 curl awk timeout python3; do
  command -v "$cmd" >/dev/null || { echo "router-bench.sh: '$cmd' not found" >&2; exit 1; }
done

REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"
LATTICED=${LATTICED:-$REPO/bin/latticed}
LATTICE_CLI=${LATTICE_CLI:-$REPO/bin/lattice}
TAILSCALED=${LATTICE_TAILSCALED:-}
TAILSCALE=${LATTICE_TAILSCALE:-}
CONTROL=${LATTICE_CONTROL:-$REPO/bin/lattice-control}

ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
P=lt-r$ID
ALL_NS=()
WORK=$(mktemp -d /tmp/lattice-router-bench-XXXXXX)
URL=http://203.0.113.1:8080
CONFIG=$WORK/control/config.yaml
PIDS=()
CONTROL_PID=""

log() { echo "[bench] $*" >&2; }

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
  local ns
  stop_pids "${PIDS[@]}"
  [ -n "$CONTROL_PID" ] && stop_pids "$CONTROL_PID"
  for ns in "${ALL_NS[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  if [ "$KEEP" = 1 ]; then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

newns() {
  ip netns add "$P-$1" && ip -n "$P-$1" link set lo up && ALL_NS+=("$P-$1")
}

# wan NAME ADDR: a host on the WAN switch with a default route via the ISP
PORT_NO=0
wan() {
  local port=p$PORT_NO
  PORT_NO=$((PORT_NO + 1))
  newns "$1" || return 1
  ip link add eth0 netns "$P-$1" type veth peer name "$port" netns "$P-sw" &&
    ip -n "$P-sw" link set "$port" master br0 && ip -n "$P-sw" link set "$port" up &&
    ip -n "$P-$1" addr add "$2/24" dev eth0 && ip -n "$P-$1" link set eth0 up || return 1
  [ "$1" = isp ] || ip -n "$P-$1" route add default via 203.0.113.254
}

build_lab() {
  newns sw && ip -n "$P-sw" link add br0 type bridge && ip -n "$P-sw" link set br0 up || return 1
  wan ctl 203.0.113.1 && wan isp 203.0.113.254 || return 1
  newns inet || return 1
  ip link add eth1 netns "$P-isp" type veth peer name eth0 netns "$P-inet" &&
    ip -n "$P-isp" addr add 198.51.100.1/24 dev eth1 && ip -n "$P-isp" link set eth1 up &&
    ip -n "$P-inet" addr add 198.51.100.80/24 dev eth0 && ip -n "$P-inet" link set eth0 up &&
    ip -n "$P-inet" route add default via 198.51.100.1 &&
    ip netns exec "$P-isp" sysctl -q -w net.ipv4.ip_forward=1 || return 1
  local k n
  for k in lattice official; do
    [ "$k" = lattice ] && n=0 || n=1
    wan "r-$k" "203.0.113.$((10 + 10 * n))" && wan "c-$k" "203.0.113.$((11 + 10 * n))" && newns "l-$k" || return 1
    ip link add lan0 netns "$P-r-$k" type veth peer name eth0 netns "$P-l-$k" &&
      ip -n "$P-r-$k" addr add "192.168.$((77 + n)).1/24" dev lan0 && ip -n "$P-r-$k" link set lan0 up &&
      ip -n "$P-l-$k" addr add "192.168.$((77 + n)).10/24" dev eth0 && ip -n "$P-l-$k" link set eth0 up &&
      ip -n "$P-l-$k" route add default via "192.168.$((77 + n)).1" || return 1
    ip netns exec "$P-r-$k" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return 1
  done
}

start_control() {
  local d=$WORK/control i
  mkdir -p "$d"
  control_config "$d" 203.0.113.1 "Lattice bench DERP" || return 1 # writes $CONFIG
  ip netns exec "$P-ctl" "$CONTROL" serve -c "$CONFIG" >"$WORK/control.log" 2>&1 &
  CONTROL_PID=$!
  for i in $(seq 240); do
    ip netns exec "$P-ctl" curl -sf -m 2 "$URL/health" >/dev/null 2>&1 && return 0
    kill -0 "$CONTROL_PID" 2>/dev/null || { log "lattice-control exited: $(tail -5 "$WORK/control.log")"; return 1; }
    sleep 0.5
  done
  log "lattice-control not healthy after 120 s"
  return 1
}

admin() { ip netns exec "$P-ctl" "$CONTROL" -c "$CONFIG" "$@"; }

# daemon KIND ROLE: starts the kind's daemon on its r-/c- host; sets DAEMON_PID
daemon() {
  local kind=$1 role=$2 dir=$WORK/$1-$2 bin=$LATTICED tun=lattice0 i
  [ "$kind" = official ] && bin=$TAILSCALED tun=ts0
  mkdir -p "$dir"
  TS_NO_LOGS_NO_SUPPORT=true TS_DEBUG_USE_DERP_HTTP=1 TS_DEBUG_FIREWALL_MODE=nftables \
    ip netns exec "$P-$role-$kind" "$bin" --statedir="$dir" --socket="$dir/sock" --tun="$tun" --port=41641 \
    >"$WORK/$kind-$role.log" 2>&1 &
  DAEMON_PID=$!
  PIDS+=("$DAEMON_PID")
  for i in $(seq 300); do
    [ -S "$dir/sock" ] && return 0
    kill -0 "$DAEMON_PID" 2>/dev/null || { log "$bin exited: $(tail -3 "$WORK/$kind-$role.log" | tr '\n' ' ')"; return 1; }
    sleep 0.1
  done
  log "$bin: no socket after 30 s"
  return 1
}

cli() {
  local kind=$1 role=$2 bin=$LATTICE_CLI; shift 2
  [ "$kind" = official ] && bin=$TAILSCALE
  ip netns exec "$P-$role-$kind" "$bin" --socket="$WORK/$kind-$role/sock" "$@"
}

# await_http NS ADDR SECONDS: until a TCP connect to ADDR:5201 succeeds from NS (the path is up)
await_tcp() {
  local i
  for i in $(seq $(( $3 * 5 ))); do
    ip netns exec "$1" timeout 1 bash -c "exec 3<>/dev/tcp/$2/5201" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# cpu_ticks PID: user + system clock ticks of the process so far (all threads), from /proc/PID/stat
cpu_ticks() {
  local rest
  rest=$(cat "/proc/$1/stat" 2>/dev/null) || { echo ""; return; }
  rest=${rest##*) }
  awk '{ print $12 + $13 }' <<<"$rest"
}
CLK_TCK=$(getconf CLK_TCK)

# iperf KIND TARGET_NS TARGET_ADDR [-R]: sets MBPS (receiver's Mbit/s, or FAIL) and CPU (CPU seconds both daemons
# of the kind spent during the measured transfer)
iperf() {
  local kind=$1 tns=$2 addr=$3 rev=${4:-} spid out=$WORK/iperf-$1-$3${4:-}.out r0 c0 r1 c1
  ip netns exec "$tns" iperf3 -s -B "$addr" -p 5201 >/dev/null 2>&1 &
  spid=$!
  PIDS+=("$spid")
  if ! await_tcp "$P-c-$kind" "$addr" 30; then
    MBPS=FAIL; stop_pids "$spid"; return
  fi
  if [ "$WARMUP" -gt 0 ]; then
    timeout $((WARMUP + 20)) ip netns exec "$P-c-$kind" iperf3 -c "$addr" -p 5201 -t "$WARMUP" $rev >/dev/null 2>&1
  fi
  r0=$(cpu_ticks "${RPID[$kind]}") c0=$(cpu_ticks "${CPID[$kind]}")
  timeout $((DURATION + 30)) ip netns exec "$P-c-$kind" iperf3 -c "$addr" -p 5201 -t "$DURATION" -f m $rev >"$out" 2>&1
  r1=$(cpu_ticks "${RPID[$kind]}") c1=$(cpu_ticks "${CPID[$kind]}")
  CPU=$(awk -v a="$r0" -v b="$r1" -v c="$c0" -v d="$c1" -v h="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a + d - c) / h }')
  stop_pids "$spid"
  MBPS=$(awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") v = $(i-1) } END { print (v == "" ? "FAIL" : v) }' "$out")
}

declare -A R   # R[kind,test] = the rounds' Mbit/s, space-separated
declare -A E   # E[kind,test] = the rounds' daemon CPU seconds per Gbit transferred, space-separated
declare -A READY RPID CPID

# setup KIND: both daemons up, routes approved, the router as the client's exit node; sets READY[KIND]
setup() {
  local kind=$1 n lan key id i
  [ "$kind" = lattice ] && n=0 || n=1
  lan=192.168.$((77 + n))
  if [ "$kind" = official ] && { [ -z "$TAILSCALED" ] || [ -z "$TAILSCALE" ]; }; then
    log "official: LATTICE_TAILSCALED/LATTICE_TAILSCALE not set, skipped"
    return 1
  fi
  key=$(admin preauthkeys create --user bench --reusable --expiration 1h 2>>"$WORK/admin.log")
  daemon "$kind" r || return 1
  RPID[$kind]=$DAEMON_PID
  daemon "$kind" c || return 1
  CPID[$kind]=$DAEMON_PID
  cli "$kind" r up --login-server="$URL" --authkey="$key" --hostname="r-$kind" --accept-dns=false \
    --advertise-routes="$lan.0/24" --advertise-exit-node --timeout=60s >"$WORK/$kind-r-up.out" 2>&1 || {
      log "$kind: router up failed: $(tail -3 "$WORK/$kind-r-up.out")"; return 1; }
  cli "$kind" c up --login-server="$URL" --authkey="$key" --hostname="c-$kind" --accept-dns=false \
    --accept-routes --timeout=60s >"$WORK/$kind-c-up.out" 2>&1 || {
      log "$kind: client up failed: $(tail -3 "$WORK/$kind-c-up.out")"; return 1; }
  id=$(admin nodes list -o json | python3 -c 'import json, sys
print(next(n["id"] for n in json.load(sys.stdin) if n["name"] == sys.argv[1]))' "r-$kind")
  admin nodes approve-routes --identifier "$id" --routes "0.0.0.0/0,::/0,$lan.0/24" >>"$WORK/admin.log" 2>&1
  for i in $(seq 30); do cli "$kind" c set --exit-node="r-$kind" >"$WORK/$kind-set.out" 2>&1 && break; sleep 1; done
  cli "$kind" c set --exit-node="r-$kind" >"$WORK/$kind-set.out" 2>&1 || {
    log "$kind: no exit node: $(tail -3 "$WORK/$kind-set.out")"; return 1; }
  READY[$kind]=1
}

# measure KIND: one round of the four transfers
measure() {
  local kind=$1 n lan
  [ "$kind" = lattice ] && n=0 || n=1
  lan=192.168.$((77 + n))
  iperf "$kind" "$P-l-$kind" "$lan.10"; record "$kind" subnet-up
  iperf "$kind" "$P-l-$kind" "$lan.10" -R; record "$kind" subnet-down
  iperf "$kind" "$P-inet" 198.51.100.80; record "$kind" exit-up
  iperf "$kind" "$P-inet" 198.51.100.80 -R; record "$kind" exit-down
}

record() {
  R[$1,$2]+="$MBPS "
  E[$1,$2]+="$(awk -v m="$MBPS" -v c="$CPU" -v t="$DURATION" 'BEGIN { if (m + 0 > 0) printf "%.3f", c / (m * t / 1000); else print "FAIL" }') "
}

log "building the lab ($P-*)"
build_lab || { log "cannot build the lab"; exit 1; }
start_control || exit 1
admin users create bench >/dev/null 2>>"$WORK/admin.log"
for k in ${KINDS//,/ }; do
  log "$k: router and client up"
  setup "$k" || log "$k: set-up failed, not measured"
done
for round in $(seq "$ROUNDS"); do
  for k in ${KINDS//,/ }; do
    [ -n "${READY[$k]:-}" ] || continue
    log "round $round/$ROUNDS: $k"
    measure "$k"
  done
done

# median VALUES...: the median of the numbers (FAIL if none), or "-" for none at all
median() {
  [ -z "$*" ] && { echo "-"; return; }
  printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -n | awk '{ v[n++] = $1 } END {
    if (n == 0) { print "FAIL"; exit }
    m = (n % 2) ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2; printf "%.0f\n", m }'
}

# median3 VALUES...: as median, with three decimals
median3() {
  [ -z "$*" ] && { echo "-"; return; }
  printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -n | awk '{ v[n++] = $1 } END {
    if (n == 0) { print "FAIL"; exit }
    m = (n % 2) ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2; printf "%.3f\n", m }'
}

ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f×", a / b; else print "-" }'
}
echo
for k in lattice official; do
  for t in subnet-up subnet-down exit-up exit-down; do
    [ -n "${R[$k,$t]:-}" ] && log "$k $t: Mbit/s ${R[$k,$t]}, daemon CPU s per Gbit ${E[$k,$t]}"
  done
done
echo "| role | direction | latticed Mbit/s | tailscaled Mbit/s | latticed / tailscaled |"
echo "|---|---|---|---|---|"
for t in subnet-up subnet-down exit-up exit-down; do
  case $t in
    subnet-up) role="subnet router" dir="client → LAN" ;;
    subnet-down) role="subnet router" dir="LAN → client" ;;
    exit-up) role="exit node" dir="client → internet" ;;
    exit-down) role="exit node" dir="internet → client" ;;
  esac
  # shellcheck disable=SC2086
  a=$(median ${R[lattice,$t]:-}) b=$(median ${R[official,$t]:-})
  echo "| $role | $dir | $a | $b | $(ratio "$a" "$b") |"
done
echo
echo "| role | direction | latticed CPU s/Gbit | tailscaled CPU s/Gbit | latticed / tailscaled |"
echo "|---|---|---|---|---|"
for t in subnet-up subnet-down exit-up exit-down; do
  case $t in
    subnet-up) role="subnet router" dir="client → LAN" ;;
    subnet-down) role="subnet router" dir="LAN → client" ;;
    exit-up) role="exit node" dir="client → internet" ;;
    exit-down) role="exit node" dir="internet → client" ;;
  esac
  # shellcheck disable=SC2086
  a=$(median3 ${E[lattice,$t]:-}) b=$(median3 ${E[official,$t]:-})
  echo "| $role | $dir | $a | $b | $(ratio "$a" "$b") |"
done
