#!/usr/bin/env bash
# DERP relay benchmark: Lattice's DerpServer vs tailscale's derper, both on loopback, driven by the same Java
# clients (lattice-derp's DerpClient). Measures relayed packets/s and Mbit/s between two clients, and server
# memory (RSS) per idle connection with N connections. Not a test; numbers depend on the machine and its load.
#
# Usage: LATTICE_DERPER=/path/to/derper bench/derp-bench.sh [SECONDS=10] [SIZE=1200] [IDLE=1000]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${1:-10}; size=${2:-1200}; idle=${3:-1000}
: "${LATTICE_DERPER:?set LATTICE_DERPER to the path of the official derper binary}"
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
java="$JAVA_HOME/bin/java"
ulimit -n 65536 2>/dev/null || true

cd "$root"
# One invocation, so Lattice's own modules come from this checkout (target/classes), not from ~/.m2.
./mvnw -B -q -o -pl lattice-derp -am test-compile dependency:build-classpath -Dmdep.outputFile=target/derp-bench.cp >&2
cp="lattice-derp/target/test-classes:lattice-derp/target/classes:$(cat lattice-derp/target/derp-bench.cp)"

work=$(mktemp -d /tmp/lt-derp-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not listening" >&2; return 1; }
rss_kb() { awk '/^VmRSS/ {print $2}' /proc/"$1"/status; }

start_ours() {
  local port=$1
  "$java" -Xms64m -Xmx1g -XX:+UseSerialGC -Dlogback.configurationFile=/dev/null -cp "$cp" \
    dev.lattice.derp.cli.DerperCommand -a 127.0.0.1:"$port" -c "$work/ours.key" --stun=false >"$work/ours.log" 2>&1 &
  echo $!
}
start_official() {
  local port=$1
  HOME=$work "$LATTICE_DERPER" -a 127.0.0.1:"$port" -c "$work/official.key" -stun=false -http-port -1 -home blank >"$work/official.log" 2>&1 &
  echo $!
}

declare -A pps mbps mem
for impl in official lattice; do
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  if [ "$impl" = official ]; then pid=$(start_official "$port"); else pid=$(start_ours "$port"); fi
  pids+=("$pid")
  wait_port "$port"
  url="http://127.0.0.1:$port/derp"
  echo "== $impl (pid $pid) throughput ${secs}s, ${size}-byte packets" >&2
  out=$("$java" -Xmx512m -cp "$cp" dev.lattice.derp.bench.DerpBench throughput "$url" "$secs" "$size")
  echo "   $out" >&2
  pps[$impl]=$(sed -n 's/.*pps=\([0-9.]*\).*/\1/p' <<<"$out")
  mbps[$impl]=$(sed -n 's/.*mbps=\([0-9.]*\).*/\1/p' <<<"$out")
  [ "$impl" = lattice ] && { jcmd "$pid" GC.run >/dev/null 2>&1 || true; sleep 1; }
  before=$(rss_kb "$pid")
  echo "== $impl: $idle idle connections (server RSS before: ${before} kB)" >&2
  fifo="$work/hold.$impl"; mkfifo "$fifo"
  "$java" -Xmx1g -cp "$cp" dev.lattice.derp.bench.DerpBench idle "$url" "$idle" <"$fifo" >"$work/idle.$impl.out" &
  holder=$!; exec 4>"$fifo"
  for _ in $(seq 600); do grep -q ready "$work/idle.$impl.out" 2>/dev/null && break; sleep 0.1; done
  sleep 2
  [ "$impl" = lattice ] && { jcmd "$pid" GC.run >/dev/null 2>&1 || true; sleep 1; }
  after=$(rss_kb "$pid")
  exec 4>&-; wait "$holder" || true
  mem[$impl]=$(awk -v a="$after" -v b="$before" -v n="$idle" 'BEGIN{printf "%.1f", (a-b)*1024/n/1024}')
  echo "   RSS after: ${after} kB -> ${mem[$impl]} KiB per connection" >&2
  kill "$pid"; wait "$pid" 2>/dev/null || true
done

printf '\n%-10s %12s %10s %18s\n' server packets/s Mbit/s "KiB/idle conn"
for impl in official lattice; do printf '%-10s %12s %10s %18s\n' "$impl" "${pps[$impl]}" "${mbps[$impl]}" "${mem[$impl]}"; done
awk -v lp="${pps[lattice]}" -v op="${pps[official]}" -v lm="${mem[lattice]}" -v om="${mem[official]}" \
  'BEGIN{printf "\nratio lattice/official: throughput %.2f, memory per idle connection %.2f\n", lp/op, (om>0? lm/om : 0)}'
