#!/usr/bin/env bash
# Control-server load benchmark: N simulated nodes (Java clients speaking ts2021 + zstd map streams) against
# lattice-control and, in the same run, headscale (if $LATTICE_HEADSCALE names a binary). Prints one table row per
# server and N. Everything listens on 127.0.0.1. Usage: bench/control-load.sh [N ...]   (default: 100 1000)
# Builds what it needs from this checkout alone (nothing has to be installed in ~/.m2); Maven options go in
# MAVEN_ARGS (e.g. MAVEN_ARGS=-o to stay offline).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mvnw=${LATTICE_MVNW:-$root/mvnw}
# Under set -e a failing step would end the script without a word: say which one.
step=starting
trap 'rc=$?; echo "control-load.sh: $step failed (exit $rc)" >&2; exit $rc' ERR
ns=("$@"); [ ${#ns[@]} -gt 0 ] || ns=(100 1000)
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}; export JAVA_HOME
java=$JAVA_HOME/bin/java
work=$(mktemp -d /tmp/lattice-control-load.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# One invocation, so the reactor hands out the jars it just built from this checkout: a separate
# dependency:build-classpath would take Lattice's modules from ~/.m2 (missing on a fresh clone, or stale).
step="building lattice.jar and the load generator ($mvnw package dependency:build-classpath)"
(cd "$root" && "$mvnw" -q -B package dependency:build-classpath -DskipTests -pl lattice-dist,lattice-bench -am \
  -Dmdep.outputFile=target/bench.cp >&2)
bench_cp="$root/lattice-bench/target/classes:$(cat "$root/lattice-bench/target/bench.cp")"

derpmap() { cat > "$1" <<'YAML'
regions:
  900:
    regionid: 900
    regioncode: bench
    regionname: bench
    nodes:
      - name: 900a
        regionid: 900
        hostname: 127.0.0.1
        ipv4: 127.0.0.1
        stunport: -1
        derpport: 443
YAML
}

config() { # dir port
  derpmap "$1/derp.yaml"
  cat > "$1/config.yaml" <<YAML
server_url: http://127.0.0.1:$2
listen_addr: 127.0.0.1:$2
metrics_listen_addr: 127.0.0.1:$(( $2 + 1 ))
grpc_listen_addr: 127.0.0.1:$(( $2 + 2 ))
noise:
  private_key_path: $1/noise_private.key
prefixes:
  v4: 100.64.0.0/10
  v6: fd7a:115c:a1e0::/48
database:
  type: sqlite
  sqlite:
    path: $1/db.sqlite
derp:
  server:
    enabled: false
  urls: []
  paths: [$1/derp.yaml]
dns:
  magic_dns: true
  base_domain: bench.test
  override_local_dns: false
  nameservers:
    global: []
log:
  level: warn
unix_socket: $1/control.sock
unix_socket_permissions: "0770"
YAML
}

wait_health() { for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "server on $1 not healthy" >&2; return 1; }

echo "| server | N | join s | join CPU ms | add p50 ms | add p99 ms | add max ms | patch p50 ms | patch max ms | heap MiB | RSS MiB | patch CPU ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in "${ns[@]}"; do
  d=$work/lattice-$n; mkdir -p "$d"; config "$d" 18080
  step="starting lattice-control for N=$n (log: $d/server.log)"
  LATTICE_JAVA_OPTS="-Xmx2g" "$root/bin/lattice-control" serve -c "$d/config.yaml" > "$d/server.log" 2>&1 &
  pid=$!; pids+=("$pid"); wait_health 18080
  step="creating the bench user and key on lattice-control"
  spid=$(pgrep -f "lattice.jar control serve -c $d/config.yaml" | head -1)
  "$root/bin/lattice-control" -c "$d/config.yaml" users create bench >/dev/null
  key=$("$root/bin/lattice-control" -c "$d/config.yaml" preauthkeys create --user bench --reusable --expiration 2h)
  step="the load generator against lattice-control, N=$n"
  "$java" --enable-native-access=ALL-UNNAMED -Xmx4g -cp "$bench_cp" dev.lattice.bench.control.ControlLoadBench http://127.0.0.1:18080 "$key" "$spid" "$n" lattice-control
  kill "$pid"; wait "$pid" 2>/dev/null || true

  if [ -n "${LATTICE_HEADSCALE:-}" ]; then
    d=$work/headscale-$n; mkdir -p "$d"; config "$d" 28080
    step="starting headscale for N=$n (log: $d/server.log)"
    "$LATTICE_HEADSCALE" -c "$d/config.yaml" serve > "$d/server.log" 2>&1 &
    pid=$!; pids+=("$pid"); wait_health 28080
    step="creating the bench user and key on headscale"
    "$LATTICE_HEADSCALE" -c "$d/config.yaml" users create bench >/dev/null
    uid=$("$LATTICE_HEADSCALE" -c "$d/config.yaml" users list -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
    key=$("$LATTICE_HEADSCALE" -c "$d/config.yaml" preauthkeys create --user "$uid" --reusable --expiration 2h | tail -1)
    step="the load generator against headscale, N=$n"
    "$java" --enable-native-access=ALL-UNNAMED -Xmx4g -cp "$bench_cp" dev.lattice.bench.control.ControlLoadBench http://127.0.0.1:28080 "$key" "$pid" "$n" headscale
    kill "$pid"; wait "$pid" 2>/dev/null || true
  fi
done
