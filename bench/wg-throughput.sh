#!/usr/bin/env bash
# wg-throughput.sh: throughput and latency of userspace WireGuard implementations, measured between two
# network namespaces on one veth link. See bench/README.md.
#
#   sudo bench/wg-throughput.sh [-t SECONDS] [-w SECONDS] [-c PINGS] [-p PAIRS] [-k]
#
# Each pair gets fresh namespaces lt-b<id>-a / lt-b<id>-b, which are deleted (with the daemons and
# iperf3 processes in them) when the pair is done and on any exit, including Ctrl-C.
set -uo pipefail

usage() {
  cat <<USAGE
usage: $0 [-t SECONDS] [-w SECONDS] [-c PINGS] [-p PAIRS] [-k]
  -t SECONDS  iperf3 duration per direction (default 10)
  -w SECONDS  warm-up transfer before measuring (default 2)
  -c PINGS    pings for the RTT, 0.05 s apart (default 50)
  -p PAIRS    comma-separated subset of: wggo-wggo, lattice-lattice, lattice-wggo, upstream-upstream
              (default: all; upstream-upstream only if LATTICE_WIREGUARD_GO_UPSTREAM is set)
  -k          keep the daemons' logs (the directory is printed)
environment:
  LATTICE_WIREGUARD_GO           wireguard-go binary (default: wireguard-go on PATH, i.e. Debian's)
  LATTICE_WG                     lattice-wg (default: <repo>/bin/lattice-wg)
  LATTICE_WIREGUARD_GO_UPSTREAM  an upstream wireguard-go build (optional)
USAGE
}

DURATION=10 WARMUP=2 PINGS=50 PAIRS="" KEEP=0
while getopts "t:w:c:p:kh" opt; do
  case $opt in
    t) DURATION=$OPTARG ;;
    w) WARMUP=$OPTARG ;;
    c) PINGS=$OPTARG ;;
    p) PAIRS=$OPTARG ;;
    k) KEEP=1 ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
for n in "$DURATION" "$WARMUP" "$PINGS"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "not a whole number: $n" >&2; exit 2; }
done
[ "$DURATION" -ge 1 ] && [ "$PINGS" -ge 1 ] || { echo "-t and -c must be at least 1" >&2; exit 2; }

if [ "$(id -u)" -ne 0 ]; then
  echo "wg-throughput.sh: must run as root (it creates network namespaces and TUN devices)" >&2
  exit 1
fi
for cmd in ip wg iperf3 ping ss awk; do
  command -v "$cmd" >/dev/null || { echo "wg-throughput.sh: '$cmd' not found" >&2; exit 1; }
done

REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
WGGO=${LATTICE_WIREGUARD_GO:-$(command -v wireguard-go || true)}
LATTICE=${LATTICE_WG:-$REPO/bin/lattice-wg}
UPSTREAM=${LATTICE_WIREGUARD_GO_UPSTREAM:-}

if [ -z "$PAIRS" ]; then
  PAIRS="wggo-wggo,lattice-lattice,lattice-wggo"
  [ -n "$UPSTREAM" ] && PAIRS="$PAIRS,upstream-upstream"
fi

ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
NS_A=lt-b$ID-a
NS_B=lt-b$ID-b
DEV_A=wgA$ID            # /var/run/wireguard is shared by all namespaces: names must be unique
DEV_B=wgB$ID
WORK=$(mktemp -d /tmp/lattice-bench-XXXXXX)
PIDS=()

log() { echo "[bench] $*" >&2; }

teardown() {
  local p ns
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null
  done
  PIDS=()
  for ns in "$NS_A" "$NS_B"; do
    if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
      # anything still inside (iperf3 servers, daemons' children) would keep the namespace alive
      ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
      ip netns del "$ns" 2>/dev/null || log "could not delete namespace $ns"
    fi
  done
  rm -f "/var/run/wireguard/$DEV_A.sock" "/var/run/wireguard/$DEV_B.sock"
}

cleanup() {
  teardown
  if [ "$KEEP" = 1 ]; then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# start_daemon NS DEV BINARY LOG: runs BINARY -f DEV in NS; waits for the device and UAPI socket
start_daemon() {
  local ns=$1 dev=$2 bin=$3 logf=$4 pid i
  WG_PROCESS_FOREGROUND=1 ip netns exec "$ns" "$bin" -f "$dev" >"$logf" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  DAEMONS+=("$pid")
  for i in $(seq 300); do
    if ip -n "$ns" link show "$dev" >/dev/null 2>&1 && [ -S "/var/run/wireguard/$dev.sock" ]; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { log "$bin exited: $(tail -3 "$logf" | tr '\n' ' ')"; return 1; }
    sleep 0.1
  done
  log "$bin did not create $dev within 30 s"
  return 1
}

# daemon_cpu: CPU seconds (user + system, all threads) the pair's two daemons have used so far. The throughput
# of a loaded machine swings from run to run; CPU per byte moved does much less, so it is the steadier figure.
DAEMONS=()
daemon_cpu() {
  local p t=0 v
  for p in "${DAEMONS[@]}"; do
    v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || v=0
    t=$((t + ${v:-0}))
  done
  awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

# transfer_bytes: bytes A's device has received plus sent so far (its own counters)
transfer_bytes() {
  ip netns exec "$NS_A" wg show "$DEV_A" transfer 2>/dev/null | awk '{ t += $2 + $3 } END { printf "%.0f", t }'
}

# setup BIN_A BIN_B: namespaces, veth, daemons, keys, wg config, tunnel addresses
setup() {
  local bin_a=$1 bin_b=$2 ka kb pa pb
  DAEMONS=()
  ip netns add "$NS_A" && ip netns add "$NS_B" || return 1
  ip -n "$NS_A" link set lo up && ip -n "$NS_B" link set lo up
  ip link add eth0 netns "$NS_A" type veth peer name eth0 netns "$NS_B" || return 1
  ip -n "$NS_A" addr add 192.168.77.1/24 dev eth0 && ip -n "$NS_A" link set eth0 up
  ip -n "$NS_B" addr add 192.168.77.2/24 dev eth0 && ip -n "$NS_B" link set eth0 up
  start_daemon "$NS_A" "$DEV_A" "$bin_a" "$WORK/$PAIR-a.log" || return 1
  start_daemon "$NS_B" "$DEV_B" "$bin_b" "$WORK/$PAIR-b.log" || return 1
  ka=$WORK/a.key kb=$WORK/b.key
  (umask 077; wg genkey >"$ka"; wg genkey >"$kb")
  pa=$(wg pubkey <"$ka") pb=$(wg pubkey <"$kb")
  ip netns exec "$NS_A" wg set "$DEV_A" private-key "$ka" listen-port 51820 \
    peer "$pb" endpoint 192.168.77.2:51821 allowed-ips 10.77.0.2/32 || return 1
  ip netns exec "$NS_B" wg set "$DEV_B" private-key "$kb" listen-port 51821 \
    peer "$pa" endpoint 192.168.77.1:51820 allowed-ips 10.77.0.1/32 || return 1
  ip -n "$NS_A" addr add 10.77.0.1/24 dev "$DEV_A" && ip -n "$NS_A" link set "$DEV_A" up
  ip -n "$NS_B" addr add 10.77.0.2/24 dev "$DEV_B" && ip -n "$NS_B" link set "$DEV_B" up
  bg_wait /dev/null ip netns exec "$NS_A" ping -c 1 -W 5 10.77.0.2 || { log "no ping through the tunnel"; return 1; }
}

# bg_wait OUTFILE CMD...: runs CMD in the background and waits for it; unlike a foreground command or $(...),
# `wait` returns as soon as a signal arrives, so the exit trap cleans up at once on Ctrl-C / SIGTERM.
bg_wait() {
  local out=$1 pid rc; shift
  "$@" >"$out" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait "$pid"; rc=$?
  forget "$pid"
  return $rc
}

# forget PID: drop an exited process from PIDS, so teardown never signals a reused PID
forget() {
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# iperf SERVER_NS SERVER_ADDR CLIENT_NS SECONDS: sets RESULT to the receiver's Mbit/s (or FAIL)
iperf() {
  local sns=$1 addr=$2 cns=$3 secs=$4 spid i
  ip netns exec "$sns" iperf3 -s -1 -B "$addr" -p 5201 >/dev/null 2>&1 &
  spid=$!
  PIDS+=("$spid")
  for i in $(seq 100); do
    [ -n "$(ip netns exec "$sns" ss -Hltn 'sport = :5201')" ] && break
    sleep 0.05
  done
  bg_wait "$WORK/iperf.out" timeout $((secs + 30)) \
    ip netns exec "$cns" iperf3 -c "$addr" -p 5201 -t "$secs" -f m --connect-timeout 5000
  wait "$spid" 2>/dev/null && forget "$spid"
  RESULT=$(awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") v = $(i-1) }
                END { print (v == "" ? "FAIL" : v) }' "$WORK/iperf.out")
}

# measure PAIR NAME BIN_A BIN_B: appends one result line to $RESULTS
RESULTS=()
measure() {
  PAIR=$1
  local name=$2 bin_a=$3 bin_b=$4 ab ba rtt cpu0 cpu1 bytes0 bytes1 cpg
  for b in "$bin_a" "$bin_b"; do
    if [ -z "$b" ] || [ ! -x "$b" ]; then
      log "$name: binary '${b:-<unset>}' not available, skipped"
      RESULTS+=("$name|skipped|skipped|skipped|skipped"); return
    fi
  done
  log "$name: setting up"
  if ! setup "$bin_a" "$bin_b"; then
    RESULTS+=("$name|FAILED|FAILED|FAILED|FAILED"); teardown; return
  fi
  if [ "$WARMUP" -gt 0 ]; then
    log "$name: warm-up ${WARMUP}s"
    iperf "$NS_B" 10.77.0.2 "$NS_A" "$WARMUP"
  fi
  cpu0=$(daemon_cpu) bytes0=$(transfer_bytes)
  log "$name: A->B ${DURATION}s"
  iperf "$NS_B" 10.77.0.2 "$NS_A" "$DURATION"; ab=$RESULT
  log "$name: B->A ${DURATION}s"
  iperf "$NS_A" 10.77.0.1 "$NS_B" "$DURATION"; ba=$RESULT
  cpu1=$(daemon_cpu) bytes1=$(transfer_bytes)
  cpg=$(awk -v c="$cpu1" -v c0="$cpu0" -v b="$bytes1" -v b0="$bytes0" \
    'BEGIN { d = b - b0; if (d > 0) printf "%.2f", (c - c0) / (d / 1073741824); else print "n/a" }')
  log "$name: ping x$PINGS"
  bg_wait "$WORK/ping.out" ip netns exec "$NS_A" ping -q -c "$PINGS" -i 0.05 -W 2 10.77.0.2
  rtt=$(awk -F'/' '/^rtt|^round-trip/ { print $5 }' "$WORK/ping.out")
  RESULTS+=("$name|$ab|$ba|${rtt:-FAIL}|$cpg")
  # sanity check that the traffic really went through the daemons: their own byte counters
  ip netns exec "$NS_A" wg show "$DEV_A" transfer 2>/dev/null \
    | awk -v n="$name" '{ printf "[bench] %s: wg show transfer on A: rx %.0f MiB, tx %.0f MiB\n", n, $2/1048576, $3/1048576 }' >&2
  teardown
}

version_of() { [ -x "${1:-}" ] && "$1" --version 2>/dev/null | head -1; }
log "namespaces $NS_A/$NS_B, ${DURATION}s per direction, ${WARMUP}s warm-up, $PINGS pings; $(nproc) CPUs, kernel $(uname -r)"
[ -n "$WGGO" ] && log "wireguard-go: $WGGO ($(version_of "$WGGO"))"
log "lattice-wg: $LATTICE"
[ -n "$UPSTREAM" ] && log "upstream: $UPSTREAM ($(version_of "$UPSTREAM"))"

IFS=',' read -r -a want <<<"$PAIRS"
for p in "${want[@]}"; do
  case $p in
    wggo-wggo)         measure "$p" "wireguard-go <-> wireguard-go" "$WGGO" "$WGGO" ;;
    lattice-lattice)   measure "$p" "lattice-wg <-> lattice-wg" "$LATTICE" "$LATTICE" ;;
    lattice-wggo)      measure "$p" "lattice-wg <-> wireguard-go" "$LATTICE" "$WGGO" ;;
    upstream-upstream) measure "$p" "upstream <-> upstream" "$UPSTREAM" "$UPSTREAM" ;;
    *) log "unknown pair: $p (see -h)"; exit 2 ;;
  esac
done

# table; ratio = (A->B + B->A) of the pair / the same for wireguard-go <-> wireguard-go
base=""
for r in "${RESULTS[@]}"; do
  IFS='|' read -r name ab ba rtt _ <<<"$r"
  if [ "$name" = "wireguard-go <-> wireguard-go" ] && [[ $ab =~ ^[0-9.]+$ ]] && [[ $ba =~ ^[0-9.]+$ ]]; then
    base=$(awk -v a="$ab" -v b="$ba" 'BEGIN { print a + b }')
  fi
done
printf '%-32s %12s %12s %9s %16s %14s\n' "pair" "A->B Mbit/s" "B->A Mbit/s" "RTT ms" "vs wireguard-go" "CPU s/GiB"
for r in "${RESULTS[@]}"; do
  IFS='|' read -r name ab ba rtt cpg <<<"$r"
  ratio="n/a"
  if [ -n "$base" ] && [[ $ab =~ ^[0-9.]+$ ]] && [[ $ba =~ ^[0-9.]+$ ]]; then
    ratio=$(awk -v a="$ab" -v b="$ba" -v base="$base" 'BEGIN { printf "%.2fx", (a + b) / base }')
  fi
  printf '%-32s %12s %12s %9s %16s %14s\n' "$name" "$ab" "$ba" "$rtt" "$ratio" "$cpg"
done
