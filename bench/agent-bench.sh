#!/usr/bin/env bash
# agent-bench.sh: the node agent (latticed) against the official tailscaled on the same NAT lab, same run:
# time from `up` to a direct path, tunnel throughput both ways and RTT. See bench/README.md.
#
#   sudo bench/agent-bench.sh [-t SECONDS] [-w SECONDS] [-c PINGS] [-p PAIRS] [-d SECONDS] [-k]
#
# The lab (namespaces lt-b<id>-*) is the NatLab topology of lattice-testlab, built with `ip netns` here:
#
#   server lt-b<id>-srv 10.200.0.2 (lattice-control: control :8080, DERP /derp, STUN :3478)
#        |
#   switch lt-b<id>-inet br0 10.200.0.1 (the "internet"; forwards nothing)
#        |                                   |
#   router lt-b<id>-ra 10.200.0.11        router lt-b<id>-rb 10.200.0.12     (EIM NAT, stateful inbound filter)
#        |                                   |
#   host lt-b<id>-a 192.168.11.2          host lt-b<id>-b 192.168.12.2       (a daemon each)
#
# Everything is deleted on any exit, including Ctrl-C. No route leads out of the lab.
set -uo pipefail

usage() {
  cat <<USAGE
usage: $0 [-t SECONDS] [-w SECONDS] [-c PINGS] [-p PAIRS] [-d SECONDS] [-k]
  -t SECONDS  iperf3 duration per direction (default 10)
  -w SECONDS  unmeasured iperf3 warm-up per direction before the measured ones (default 0: none)
  -c PINGS    pings for the RTT, 0.05 s apart (default 50)
  -p PAIRS    comma-separated subset of: lattice, official (default: both, in that order)
  -d SECONDS  how long to wait for a direct path after \`up\` (default 60)
  -k          keep the logs and state directories (the directory is printed)
environment:
  LATTICED, LATTICE_CLI   latticed and its CLI (default: <repo>/bin/latticed, <repo>/bin/lattice)
  LATTICE_TAILSCALED, LATTICE_TAILSCALE
                          official tailscaled and tailscale CLI (the official pair is skipped when unset)
  LATTICE_CONTROL         the control server launcher (default: <repo>/bin/lattice-control; it honours
                          LATTICE_JAR, e.g. a lattice.jar built elsewhere)
USAGE
}

DURATION=10 WARMUP=0 PINGS=50 PAIRS="lattice,official" DIRECT_WAIT=60 KEEP=0
while getopts "t:w:c:p:d:kh" opt; do
  case $opt in
    t) DURATION=$OPTARG ;;
    w) WARMUP=$OPTARG ;;
    c) PINGS=$OPTARG ;;
    p) PAIRS=$OPTARG ;;
    d) DIRECT_WAIT=$OPTARG ;;
    k) KEEP=1 ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
for n in "$DURATION" "$PINGS" "$DIRECT_WAIT"; do
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || { echo "not a whole number >= 1: $n" >&2; exit 2; }
done
[[ $WARMUP =~ ^[0-9]+$ ]] || { echo "not a whole number: $WARMUP" >&2; exit 2; }

if [ "$(id -u)" -ne 0 ]; then
  echo "agent-bench.sh: must run as root (it creates network namespaces and TUN devices)" >&2
  exit 1
fi
for cmd in ip nft iperf3 ping ss curl awk timeout; do
  command -v "$cmd" >/dev/null || { echo "agent-bench.sh: '$cmd' not found" >&2; exit 1; }
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
NS_INET=lt-b$ID-inet NS_SRV=lt-b$ID-srv NS_RA=lt-b$ID-ra NS_RB=lt-b$ID-rb NS_A=lt-b$ID-a NS_B=lt-b$ID-b
ALL_NS=("$NS_A" "$NS_B" "$NS_RA" "$NS_RB" "$NS_SRV" "$NS_INET")
SERVER_IP=10.200.0.2
URL=http://$SERVER_IP:8080
WORK=$(mktemp -d /tmp/lattice-agent-bench-XXXXXX)
CONFIG=$WORK/control/config.yaml
PIDS=()      # background processes of the current pair (daemons, iperf3 servers)
CONTROL_PID=""

log() { echo "[bench] $*" >&2; }
ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

# stop_pids PID...: SIGTERM, up to 5 s grace (tailscaled cleans up its routes and rules on SIGTERM), SIGKILL
stop_pids() {
  local p
  for p in "$@"; do kill "$p" 2>/dev/null; done
  for p in "$@"; do
    for _ in $(seq 25); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
}

del_ns() {
  if ns_exists "$1"; then
    # anything still inside would keep the namespace alive
    ip netns pids "$1" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$1" 2>/dev/null || log "could not delete namespace $1"
  fi
}

cleanup() {
  local ns
  stop_pids "${PIDS[@]}"
  PIDS=()
  [ -n "$CONTROL_PID" ] && stop_pids "$CONTROL_PID"
  for ns in "${ALL_NS[@]}"; do del_ns "$ns"; done
  if [ "$KEEP" = 1 ]; then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# bg_wait OUTFILE CMD...: runs CMD in the background and waits, so a signal interrupts the wait at once
bg_wait() {
  local out=$1 pid rc; shift
  "$@" >"$out" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait "$pid"; rc=$?
  forget "$pid"
  return $rc
}

forget() {
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# ---------------------------------------------------------------- the lab

# attach NS DEV ADDR: plugs NS into the internet switch as DEV with ADDR/24 and a default route to the switch
PORT_NO=0
attach() {
  local ns=$1 dev=$2 addr=$3 port=p$PORT_NO
  PORT_NO=$((PORT_NO + 1))
  ip link add "$dev" netns "$ns" type veth peer name "$port" netns "$NS_INET" || return 1
  ip -n "$NS_INET" link set "$port" master br0 && ip -n "$NS_INET" link set "$port" up &&
    ip -n "$ns" addr add "$addr/24" dev "$dev" && ip -n "$ns" link set "$dev" up &&
    ip -n "$ns" route add default via 10.200.0.1
}

# build_site ROUTER_NS HOST_NS K: a fresh EIM router 10.200.0.(10+K) for the (existing) host 192.168.(10+K).2.
# Rebuilt before each pair, which also forgets every NAT mapping the previous pair left in conntrack.
build_site() {
  local r=$1 h=$2 k=$3 lan=192.168.$((10 + $3))
  del_ns "$r"
  ip netns add "$r" && ip -n "$r" link set lo up || return 1
  ip netns exec "$r" sysctl -q -w net.ipv4.ip_forward=1 || return 1
  attach "$r" wan0 "10.200.0.$((10 + k))" || return 1
  ip link add lan0 netns "$r" type veth peer name eth0 netns "$h" || return 1
  ip -n "$r" addr add "$lan.1/24" dev lan0 && ip -n "$r" link set lan0 up &&
    ip -n "$h" addr add "$lan.2/24" dev eth0 && ip -n "$h" link set eth0 up &&
    ip -n "$h" route add default via "$lan.1" || return 1
  # the same rules as lattice-testlab's Router with Nat.ENDPOINT_INDEPENDENT
  ip netns exec "$r" nft -f - <<NFT
table ip lt_nat {
  chain postrouting { type nat hook postrouting priority srcnat; policy accept; oifname "wan0" masquerade persistent; }
}
table inet lt_fw {
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "wan0" ct state established,related accept
    iifname "wan0" drop
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan0" ct state established,related accept
    iifname "wan0" drop
  }
}
NFT
}

build_lab() {
  local ns
  for ns in "$NS_INET" "$NS_SRV" "$NS_A" "$NS_B"; do
    ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
  done
  ip -n "$NS_INET" link add br0 type bridge && ip -n "$NS_INET" link set br0 up &&
    ip -n "$NS_INET" addr add 10.200.0.1/24 dev br0 || return 1
  attach "$NS_SRV" eth0 "$SERVER_IP" || return 1
}

# ---------------------------------------------------------------- the control server

start_control() {
  local d=$WORK/control i
  mkdir -p "$d"
  control_config "$d" "$SERVER_IP" "Lattice bench DERP" || return 1 # writes $CONFIG
  ip netns exec "$NS_SRV" "$CONTROL" serve -c "$CONFIG" >"$WORK/control.log" 2>&1 &
  CONTROL_PID=$!
  for i in $(seq 240); do
    ip netns exec "$NS_SRV" curl -sf -m 2 "$URL/health" >/dev/null 2>&1 && return 0
    kill -0 "$CONTROL_PID" 2>/dev/null || { log "lattice-control exited: $(tail -5 "$WORK/control.log")"; return 1; }
    sleep 0.5
  done
  log "lattice-control not healthy after 120 s: $(tail -5 "$WORK/control.log")"
  return 1
}

admin() { ip netns exec "$NS_SRV" "$CONTROL" -c "$CONFIG" "$@"; }

# ---------------------------------------------------------------- one pair

# start_daemon KIND SIDE NS BIN TUN EXTRA...: sets DAEMON_PID; waits for the LocalAPI socket
start_daemon() {
  local kind=$1 side=$2 ns=$3 bin=$4 tun=$5 i; shift 5
  local dir=$WORK/$kind-$side
  mkdir -p "$dir"
  # official clients only speak DERP over TLS unless told otherwise; the lab's server_url is plain HTTP
  TS_NO_LOGS_NO_SUPPORT=true TS_DEBUG_USE_DERP_HTTP=1 ip netns exec "$ns" "$bin" --statedir="$dir" --socket="$dir/sock" --tun="$tun" \
    --port=41641 "$@" >"$WORK/$kind-$side.log" 2>&1 &
  DAEMON_PID=$!
  PIDS+=("$DAEMON_PID")
  for i in $(seq 300); do
    # the launchers exec, so the PID is the daemon itself (its CPU time is read from /proc/PID/stat)
    [ -S "$dir/sock" ] && { log "$kind-$side: pid $DAEMON_PID ($(cat "/proc/$DAEMON_PID/comm" 2>/dev/null))"; return 0; }
    kill -0 "$DAEMON_PID" 2>/dev/null || { log "$bin exited: $(tail -3 "$WORK/$kind-$side.log" | tr '\n' ' ')"; return 1; }
    sleep 0.1
  done
  log "$bin: no socket $dir/sock after 30 s"
  return 1
}

# cli_argv KIND SIDE: sets CLI_ARGV to the pair's CLI in the side's namespace (usable under `timeout`)
cli_argv() {
  local ns=$NS_A bin=$LATTICE_CLI
  [ "$2" = b ] && ns=$NS_B
  [ "$1" = official ] && bin=$TAILSCALE
  CLI_ARGV=(ip netns exec "$ns" "$bin" --socket="$WORK/$1-$2/sock")
}

# cli KIND SIDE ARGS...: runs the CLI
cli() {
  local CLI_ARGV
  cli_argv "$1" "$2"; shift 2
  "${CLI_ARGV[@]}" "$@"
}

now() { date +%s.%N; }

# localapi KIND SIDE METHOD PATH: the daemon's LocalAPI over its socket with curl (no CLI start-up in timings)
localapi() {
  local ns=$NS_A
  [ "$2" = b ] && ns=$NS_B
  ip netns exec "$ns" curl -sS -m 6 --unix-socket "$WORK/$1-$2/sock" -X "$3" "http://local-tailscaled.sock/localapi/v0/$4"
}

# tailnet_ip4 KIND SIDE: the daemon's first IPv4 tailnet address (top-level "TailscaleIPs" of its status)
tailnet_ip4() {
  # tailscaled indents its JSON: join the lines first
  localapi "$1" "$2" GET status 2>/dev/null | tr -d '\n' | grep -oE '"TailscaleIPs": *\[[^]]*\]' | head -1 |
    grep -oE '[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+' | head -1
}

# cpu_ticks PID: user + system clock ticks of the process so far (all threads), from /proc/PID/stat
# (fields 14 and 15; the text after the last ')' starts at field 3, since the name may hold spaces)
cpu_ticks() {
  local rest
  rest=$(cat "/proc/$1/stat" 2>/dev/null) || { echo ""; return; }
  rest=${rest##*) }
  awk '{ print $12 + $13 }' <<<"$rest"
}
CLK_TCK=$(getconf CLK_TCK)
# cpu_delta BEFORE AFTER: seconds between two cpu_ticks readings, or "?" when either is missing
cpu_delta() {
  if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" -v h="$CLK_TCK" 'BEGIN { printf "%.1f", (b - a) / h }'
  else echo "?"; fi
}

# iperf SERVER_NS SERVER_ADDR CLIENT_NS SECONDS OUT: sets RESULT to the receiver's Mbit/s (or FAIL) and
# CPU_A / CPU_B to the CPU seconds daemons $PID_A / $PID_B spent during the transfer
iperf() {
  local sns=$1 addr=$2 cns=$3 secs=$4 out=$5 spid i ca0 cb0
  ip netns exec "$sns" iperf3 -s -1 -B "$addr" -p 5201 >/dev/null 2>&1 &
  spid=$!
  PIDS+=("$spid")
  for i in $(seq 100); do
    [ -n "$(ip netns exec "$sns" ss -Hltn 'sport = :5201')" ] && break
    sleep 0.05
  done
  ca0=$(cpu_ticks "$PID_A") cb0=$(cpu_ticks "$PID_B")
  bg_wait "$out" timeout $((secs + 30)) \
    ip netns exec "$cns" iperf3 -c "$addr" -p 5201 -t "$secs" -f m --connect-timeout 5000
  CPU_A=$(cpu_delta "$ca0" "$(cpu_ticks "$PID_A")") CPU_B=$(cpu_delta "$cb0" "$(cpu_ticks "$PID_B")")
  stop_pids "$spid"; forget "$spid"
  RESULT=$(awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") v = $(i-1) }
                END { print (v == "" ? "FAIL" : v) }' "$out")
}

RESULTS=()   # kind|name|up_returned_s|up_to_direct_s|direct_endpoint|ab|ba|rtt|cpu_ab_a|cpu_ab_b|cpu_ba_a|cpu_ba_b|up_to_data_s|icmp_lost
# failed KIND NAME WORD: a result row with WORD (skipped, FAILED) in every column
failed() { RESULTS+=("$1|$2|$3|$3|-|$3|$3|$3|-|-|-|-|$3|-"); }

# run_pair KIND NAME DAEMON CLI TUN EXTRA_DAEMON_ARGS...
run_pair() {
  local kind=$1 name=$2 daemon=$3 clibin=$4 tun=$5; shift 5
  local b key ip_a ip_b t0 t1 out via="" up_s="FAIL" up_ret="FAIL" ab=FAIL ba=FAIL rtt=FAIL pa pb
  local cab_a cab_b cba_a cba_b lost="" data_s="FAIL"
  for b in "$daemon" "$clibin"; do
    if [ -z "$b" ] || [ ! -x "$b" ]; then
      log "$name: binary '${b:-<unset>}' not available, skipped"
      failed "$kind" "$name" skipped; return
    fi
  done
  log "$name: fresh NAT routers, user and key"
  if ! build_site "$NS_RA" "$NS_A" 1 || ! build_site "$NS_RB" "$NS_B" 2; then
    log "$name: cannot build the sites"; failed "$kind" "$name" FAILED; return
  fi
  admin users create "bench-$kind" >/dev/null 2>>"$WORK/admin.log"
  key=$(admin preauthkeys create --user "bench-$kind" --reusable --expiration 1h 2>>"$WORK/admin.log")
  if [ -z "$key" ]; then
    log "$name: no pre-auth key: $(tail -3 "$WORK/admin.log")"; failed "$kind" "$name" FAILED; return
  fi

  if ! start_daemon "$kind" a "$NS_A" "$daemon" "$tun" "$@"; then
    failed "$kind" "$name" FAILED; stop_pids "${PIDS[@]}"; PIDS=(); return
  fi
  pa=$DAEMON_PID
  if ! start_daemon "$kind" b "$NS_B" "$daemon" "$tun" "$@"; then
    failed "$kind" "$name" FAILED; stop_pids "${PIDS[@]}"; PIDS=(); return
  fi
  pb=$DAEMON_PID

  log "$name: up on both hosts"
  t0=$(now)
  cli "$kind" a up --login-server="$URL" --authkey="$key" --hostname="$kind-a" --accept-dns=false \
    >"$WORK/$kind-a-up.out" 2>&1 &
  local upa=$!
  cli "$kind" b up --login-server="$URL" --authkey="$key" --hostname="$kind-b" --accept-dns=false \
    >"$WORK/$kind-b-up.out" 2>&1 &
  local upb=$!
  PIDS+=("$upa" "$upb")
  wait "$upa"; local rca=$?
  wait "$upb"; local rcb=$?
  forget "$upa"; forget "$upb"
  # both have returned (the later one is what counts); the CLI's own start-up time is part of it
  up_ret=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
  ip_a=$(tailnet_ip4 "$kind" a)
  ip_b=$(tailnet_ip4 "$kind" b)
  if [ "$rca" -ne 0 ] || [ "$rcb" -ne 0 ] || [ -z "$ip_a" ] || [ -z "$ip_b" ]; then
    log "$name: up failed (a: $rca $(tail -2 "$WORK/$kind-a-up.out" | tr '\n' ' '); b: $rcb $(tail -2 "$WORK/$kind-b-up.out" | tr '\n' ' '))"
    failed "$kind" "$name" FAILED; stop_pids "${PIDS[@]}"; PIDS=(); return
  fi
  log "$name: $ip_a <-> $ip_b after ${up_ret}s; waiting for a direct path"

  # Two clocks from here, both against t0 (the start of `up`):
  # - direct: one disco ping at a time from A until one reports an "Endpoint" (ip:port) rather than a DERP region;
  #   straight to the LocalAPI with curl, the same request for both daemons (the CLIs' `ping` sends it too), so
  #   neither CLI's start-up time (a JVM for lattice) limits how often we look;
  # - data: ordinary ICMP through the tunnel every 0.2 s (ping -D stamps replies) until the first echo reply,
  #   i.e. when user traffic first flows, whatever the path; the echoes lost before it are counted.
  local deadline icmp_pid first_seq first_ts
  deadline=$(awk -v t="$t0" -v w="$DIRECT_WAIT" 'BEGIN { printf "%.0f", t + w }')
  : >"$WORK/$kind-ping.out"
  ip netns exec "$NS_A" ping -D -n -i 0.2 -W 1 "$ip_b" >"$WORK/$kind-icmp-discovery.out" 2>&1 &
  icmp_pid=$!
  PIDS+=("$icmp_pid")
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if [ -z "$via" ]; then
      awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "[+%.2fs] ", b - a }' >>"$WORK/$kind-ping.out"
      bg_wait "$WORK/$kind-ping1.out" localapi "$kind" a POST "ping?ip=$ip_b&type=disco"
      cat "$WORK/$kind-ping1.out" >>"$WORK/$kind-ping.out"; echo >>"$WORK/$kind-ping.out"
      via=$(tr -d '\n' <"$WORK/$kind-ping1.out" | grep -oE '"Endpoint": *"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+"' |
        head -1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+')
      if [ -n "$via" ]; then
        t1=$(now)
        up_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
      fi
    fi
    [ -n "$via" ] && grep -q 'bytes from' "$WORK/$kind-icmp-discovery.out" && break
    sleep 0.2
  done
  kill -INT "$icmp_pid" 2>/dev/null; wait "$icmp_pid" 2>/dev/null; forget "$icmp_pid"
  # "[1763900000.123456] 64 bytes from 100.64.0.1: icmp_seq=3 ttl=64 time=0.5 ms"
  read -r first_ts first_seq < <(awk '/bytes from/ { gsub(/[][]/, "", $1); sub(/icmp_seq=/, "", $6); print $1, $6; exit }' \
    "$WORK/$kind-icmp-discovery.out")
  if [ -n "${first_seq:-}" ]; then
    data_s=$(awk -v a="$t0" -v b="$first_ts" 'BEGIN { printf "%.2f", b - a }')
    lost=$((first_seq - 1))
  else
    data_s="none" lost=$(awk '/packets transmitted/ { print $1 }' "$WORK/$kind-icmp-discovery.out")
  fi
  log "$name: first ICMP echo reply through the tunnel after ${data_s}s, ${lost:-?} echoes lost before it"
  if [ -z "$via" ]; then
    log "$name: no direct path within ${DIRECT_WAIT}s; last: $(tail -2 "$WORK/$kind-ping1.out" | tr '\n' ' ')"
    via="-"; up_s="none"
  else
    log "$name: direct via $via after ${up_s}s"
  fi

  PID_A=$pa PID_B=$pb
  if [ "$WARMUP" -gt 0 ]; then
    # lets a JIT (latticed is a JVM) compile the data path before it is measured
    log "$name: warm-up A->B and B->A ${WARMUP}s each (not measured)"
    iperf "$NS_B" "$ip_b" "$NS_A" "$WARMUP" "$WORK/$kind-iperf-warm-ab.out"
    log "$name: warm-up: A->B $RESULT Mbit/s, daemon CPU s $CPU_A + $CPU_B"
    iperf "$NS_A" "$ip_a" "$NS_B" "$WARMUP" "$WORK/$kind-iperf-warm-ba.out"
    log "$name: warm-up: B->A $RESULT Mbit/s, daemon CPU s $CPU_A + $CPU_B"
  fi
  log "$name: A->B ${DURATION}s"
  iperf "$NS_B" "$ip_b" "$NS_A" "$DURATION" "$WORK/$kind-iperf-ab.out"; ab=$RESULT cab_a=$CPU_A cab_b=$CPU_B
  log "$name: B->A ${DURATION}s"
  iperf "$NS_A" "$ip_a" "$NS_B" "$DURATION" "$WORK/$kind-iperf-ba.out"; ba=$RESULT cba_a=$CPU_A cba_b=$CPU_B
  log "$name: $ab / $ba Mbit/s; daemon CPU s (A, B): A->B $cab_a, $cab_b; B->A $cba_a, $cba_b"
  log "$name: ping x$PINGS"
  bg_wait "$WORK/$kind-rtt.out" ip netns exec "$NS_A" ping -q -c "$PINGS" -i 0.05 -W 2 "$ip_b"
  rtt=$(awk -F'/' '/^rtt|^round-trip/ { print $5 }' "$WORK/$kind-rtt.out")
  # which path carried it: the daemon's own view after the transfers
  cli "$kind" a status 2>/dev/null | grep -F "$ip_b" | sed 's/^/[bench]   A status: /' >&2
  cli "$kind" b status 2>/dev/null | grep -F "$ip_a" | sed 's/^/[bench]   B status: /' >&2
  RESULTS+=("$kind|$name|$up_ret|$up_s|$via|$ab|$ba|${rtt:-FAIL}|$cab_a|$cab_b|$cba_a|$cba_b|$data_s|${lost:-?}")

  cli "$kind" a logout >/dev/null 2>&1
  cli "$kind" b logout >/dev/null 2>&1
  stop_pids "$pa" "$pb"
  forget "$pa"; forget "$pb"
  stop_pids "${PIDS[@]}"; PIDS=()
}

# ---------------------------------------------------------------- main

log "lab lt-b$ID-*, ${DURATION}s per direction (warm-up ${WARMUP}s), $PINGS pings; $(nproc) CPUs, kernel $(uname -r)"
log "latticed: $LATTICED / $LATTICE_CLI"
log "tailscaled: ${TAILSCALED:-<unset>} ${TAILSCALED:+($("$TAILSCALED" --version 2>/dev/null | head -1))}"
build_lab || { log "cannot build the lab"; exit 1; }
log "starting lattice-control ($CONTROL) on $URL"
start_control || exit 1

IFS=',' read -r -a want <<<"$PAIRS"
for p in "${want[@]}"; do
  case $p in
    lattice)  run_pair lattice "latticed <-> latticed" "$LATTICED" "$LATTICE_CLI" lattice0 ;;
    official) run_pair official "tailscaled <-> tailscaled" "$TAILSCALED" "$TAILSCALE" tailscale0 --no-logs-no-support ;;
    *) log "unknown pair: $p (see -h)"; exit 2 ;;
  esac
done

# markdown tables; the last row of each divides lattice by official (times, RTT, CPU: lower is better; Mbit/s: higher)
num() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
# sum A B: A + B when both are numbers, else "?"
sum() { if num "$1" && num "$2"; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a + b }'; else echo "?"; fi; }
# per_gbit CPU_S MBITS: daemon CPU seconds per Gbit carried in the $DURATION seconds, else "?"
per_gbit() {
  if num "$1" && num "$2" && [ "$(awk -v m="$2" 'BEGIN { print (m > 0) }')" = 1 ]; then
    awk -v c="$1" -v m="$2" -v t="$DURATION" 'BEGIN { printf "%.2f", c / (m * t / 1000) }'
  else echo "?"; fi
}
declare -A V=()   # V[kind,metric]
for r in "${RESULTS[@]}"; do
  IFS='|' read -r kind name upr up via ab ba rtt cab_a cab_b cba_a cba_b data _ <<<"$r"
  V[$kind,upr]=$upr V[$kind,data]=$data V[$kind,up]=$up V[$kind,ab]=$ab V[$kind,ba]=$ba V[$kind,rtt]=$rtt
  V[$kind,cab]=$(sum "$cab_a" "$cab_b") V[$kind,cba]=$(sum "$cba_a" "$cba_b")
  V[$kind,gab]=$(per_gbit "${V[$kind,cab]}" "$ab") V[$kind,gba]=$(per_gbit "${V[$kind,cba]}" "$ba")
done
# ratio_row METRIC...: "| lattice / official | r1 | r2 ..." ("-" for a metric named -, n/a when not both numbers)
ratio_row() {
  local row="| lattice / official |" m l o
  for m in "$@"; do
    l=${V[lattice,$m]:-} o=${V[official,$m]:-}
    if [ "$m" = - ]; then row="$row |"
    elif num "$l" && num "$o" && [ "$(awk -v o="$o" 'BEGIN { print (o > 0) }')" = 1 ]; then
      row="$row $(awk -v l="$l" -v o="$o" 'BEGIN { printf "%.2fx", l / o }') |"
    else row="$row n/a |"; fi
  done
  echo "$row"
}
both() { [ -n "${V[lattice,up]:-}" ] && [ -n "${V[official,up]:-}" ]; }

echo "| pair | up returned s | up -> first ICMP reply s (echoes lost) | up -> direct s | direct path (A sees B at) | A->B Mbit/s | B->A Mbit/s | RTT ms |"
echo "|---|---|---|---|---|---|---|---|"
for r in "${RESULTS[@]}"; do
  IFS='|' read -r kind name upr up via ab ba rtt cab_a cab_b cba_a cba_b data lost <<<"$r"
  echo "| $name | $upr | $data ($lost) | $up | $via | $ab | $ba | $rtt |"
done
both && ratio_row upr data up - ab ba rtt
echo
echo "| pair | A->B: daemon CPU s (A + B) | A->B: CPU s per Gbit | B->A: daemon CPU s (A + B) | B->A: CPU s per Gbit |"
echo "|---|---|---|---|---|"
for r in "${RESULTS[@]}"; do
  IFS='|' read -r kind name upr up via ab ba rtt cab_a cab_b cba_a cba_b _ <<<"$r"
  echo "| $name | ${V[$kind,cab]} ($cab_a + $cab_b) | ${V[$kind,gab]} | ${V[$kind,cba]} ($cba_a + $cba_b) | ${V[$kind,gba]} |"
done
both && ratio_row cab gab cba gba
exit 0
