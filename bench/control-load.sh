#!/usr/bin/env bash
# Control-server load benchmark: N simulated nodes (Java clients speaking ts2021 + zstd map streams) against
# lattice-control and, in the same run, headscale (if $LATTICE_HEADSCALE names a binary). Prints one table row per
# server and N. Everything listens on 127.0.0.1.
# Usage: bench/control-load.sh [join|storm|replicas|rss] [N ...]   (default: join 100 1000)
#   join      N nodes join 32 at a time, then one joins and patches (SQLite)
#   storm     N registered nodes, the server restarts, all N reconnect at once (SQLite; headscale too)
#   replicas  the storm with two lattice-control replicas on PostgreSQL ($LATTICE_PG_URL, a JDBC URL such as
#             jdbc:postgresql://127.0.0.1:5432/postgres?user=u&password=p; a database is created per run and
#             dropped after), clients split between them
#   rss       N nodes with open map streams on lattice-control (its launcher's default JVM settings) and headscale at
#             once; after LATTICE_RSS_HOLD seconds (30) both servers' RSS, threads and heap, read at the same moment;
#             LATTICE_RSS_VARIANTS="label=JVM options;..." adds more lattice-controls to compare JVM settings, and
#             LATTICE_RSS_OUT=DIR saves the NMT summary of any of them run with -XX:NativeMemoryTracking=summary
# Builds what it needs from this checkout alone (nothing has to be installed in ~/.m2); Maven options go in
# MAVEN_ARGS (e.g. MAVEN_ARGS=-o to stay offline). LATTICE_SERVER_OPTS adds JVM options to lattice-control (in
# every mode; e.g. -XX:StartFlightRecording=filename=/tmp/storm.jfr to profile the storm);
# LATTICE_GENERATOR_OPTS adds JVM options to the storm's load generator (a JFR recording of its own CPU, say);
# LATTICE_STORM_ADD_JFR=DIR records JFR profiles (server and generator) of the storm's one change alone, into DIR;
# LATTICE_STORM_TIMEOUT (seconds, default 1800) ends a headscale storm that does not finish. As root the storm runs in
# a network namespace of its own with larger accept backlogs (see below); LATTICE_BENCH_NETNS=0 keeps it on the host.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mvnw=${LATTICE_MVNW:-$root/mvnw}
# Under set -e a failing step would end the script without a word: say which one.
step=starting
trap 'rc=$?; echo "control-load.sh: $step failed (exit $rc)" >&2; exit $rc' ERR
mode=join
case "${1:-}" in join|storm|replicas|rss) mode=$1; shift ;; esac
ns=("$@"); [ ${#ns[@]} -gt 0 ] || ns=(100 1000)
# The storm opens N connections within milliseconds. The kernel's accept queue holds at most net.core.somaxconn of
# them (4,096 on the machine this was written on, whatever the server asks); the rest wait for SYN retransmits
# (1, 3, 7 s...) and the bench's clients gave up after their 10 s connect timeout (1,532 reconnects at 10,000). A
# server meant for 10,000 devices raises that limit; the bench does it in a network namespace of its own (as root:
# net.core.somaxconn and net.ipv4.tcp_max_syn_backlog are per namespace), leaving the host's sysctls alone, and the
# clients still all connect at once. LATTICE_BENCH_NETNS=0 runs on the host's loopback (and its limits) instead.
if [ "$mode" = storm ] && [ -z "${LATTICE_BENCH_IN_NETNS:-}" ] && [ "${LATTICE_BENCH_NETNS:-1}" = 1 ] && [ "$(id -u)" = 0 ] \
    && command -v ip >/dev/null; then
  netns=lattice-storm-$$
  ip netns add "$netns"
  trap 'ip netns del "$netns" 2>/dev/null || true' EXIT
  ip netns exec "$netns" ip link set lo up
  ip netns exec "$netns" sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
  echo "network: namespace $netns of its own, accept backlog 65535 (somaxconn and tcp_max_syn_backlog there; the host's unchanged); all clients connect at once"
  rc=0; LATTICE_BENCH_IN_NETNS=1 ip netns exec "$netns" "$0" "$mode" "${ns[@]}" || rc=$?
  exit $rc
fi
if [ "$mode" = storm ] && [ -z "${LATTICE_BENCH_IN_NETNS:-}" ]; then
  echo "network: this host's loopback, accept backlog min(65535, somaxconn $(cat /proc/sys/net/core/somaxconn)), SYN backlog $(cat /proc/sys/net/ipv4/tcp_max_syn_backlog); all clients connect at once"
fi
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}; export JAVA_HOME
java=$JAVA_HOME/bin/java
work=$(mktemp -d /tmp/lattice-control-load.XXXXXX)
pids=()
dbs=()
cleanup() {
  local all=("${pids[@]}")
  # Servers a restart script started are not our children: their pids are in the run directories.
  for f in "$work"/*/pids; do [ -f "$f" ] && while read -r p; do all+=("$p"); done < "$f"; done
  for p in "${all[@]}"; do kill "$p" 2>/dev/null || true; done
  # A server that does not stop within 10 s (one overloaded by a failed storm once kept running for minutes after
  # its bench ended, and took the CPU of the next) is killed.
  for _ in $(seq 100); do
    local alive=0
    for p in "${all[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p in "${all[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for db in "${dbs[@]}"; do psql "$pg_admin" -qc "drop database if exists $db" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# One invocation, so the reactor hands out the jars it just built from this checkout: a separate
# dependency:build-classpath would take Lattice's modules from ~/.m2 (missing on a fresh clone, or stale).
step="building lattice.jar and the load generator ($mvnw package dependency:build-classpath)"
# LATTICE_BENCH_PREBUILT=1 runs what the last build left (to compare two checkouts turn by turn without rebuilding).
if [ -z "${LATTICE_BENCH_PREBUILT:-}" ] || [ ! -f "$root/lattice-bench/target/bench.cp" ]; then
  (cd "$root" && "$mvnw" -q -B package dependency:build-classpath -DskipTests -pl lattice-dist,lattice-bench -am \
    -Dmdep.outputFile=target/bench.cp >&2)
fi
bench_cp="$root/lattice-bench/target/classes:$(cat "$root/lattice-bench/target/bench.cp")"

# The rss mode's servers listen on LATTICE_BENCH_PORT (default 18080; variants on +10, +20, ...; headscale on
# +10000), each with metrics on +1 and gRPC on +2; the other modes take free ports (free_port below).
lport=${LATTICE_BENCH_PORT:-18080}; hport=$((lport + 10000))
# wait_health would take another bench's server on the same port for ours: config refuses a port in use.
port_free() { if curl -s -m 1 "http://127.0.0.1:$1/" >/dev/null 2>&1 || [ $? -ne 7 ]; then echo "control-load.sh: port $1 is in use (another bench? set LATTICE_BENCH_PORT)" >&2; return 1; fi; }
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

# The database section: SQLite in the run directory, or PostgreSQL database $3 when given.
database() { # dir [pg database]
  if [ -z "${2:-}" ]; then printf 'database:\n  type: sqlite\n  sqlite:\n    path: %s/db.sqlite\n' "$1"; return; fi
  printf 'database:\n  type: postgres\n  postgres:\n    host: %s\n    port: %s\n    name: %s\n    user: %s\n    pass: %s\n' \
    "$pg_host" "$pg_port" "$2" "$pg_user" "$pg_pass"
}

# A port nothing is bound to now: two benches at once must not meet on fixed ports, where the second server fails
# to bind and its load generator talks to the first one's server without a word. Taken below the kernel's ephemeral
# range, so that the storm's thousands of client connections cannot be holding it when a server restarts on it.
free_port() {
  python3 - <<'PY'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    port = random.randrange(10000, low)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        print(port)
        break
    except OSError:
        pass
    finally:
        s.close()
else:
    raise SystemExit("no free port below " + str(low))
PY
}

config() { # dir port [pg database]
  port_free "$2" || return 1
  derpmap "$1/derp.yaml"
  cat > "$1/config.yaml" <<YAML
server_url: http://127.0.0.1:$2
listen_addr: 127.0.0.1:$2
metrics_listen_addr: 127.0.0.1:$(free_port)
grpc_listen_addr: 127.0.0.1:$(free_port)
noise:
  private_key_path: $1/noise_private.key
prefixes:
  v4: 100.64.0.0/10
  v6: fd7a:115c:a1e0::/48
$(database "$1" "${3:-}")
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

wait_health() { for _ in $(seq 300); do curl -sf "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "server on $1 not healthy" >&2; return 1; }


# lattice-control's java pid for config $1 (bin/lattice-control is a launcher script).
server_pid() { for _ in $(seq 50); do pgrep -f "lattice.jar control serve -c $1" | head -1 && return 0; sleep 0.1; done; return 1; }

# Stops the servers listed in $1 and waits until they are gone (the next run takes the same ports).
stop_servers() { while read -r p; do kill "$p" 2>/dev/null || true; while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done < "$1"; : > "$1"; }

# A restart script for StormBench: stops the servers in $dir/pids and starts them again on the same database.
restart_script() { # dir kind config...
  local dir=$1 kind=$2; shift 2
  {
    echo 'set -e'
    echo "while read -r p; do kill \"\$p\" 2>/dev/null || true; while kill -0 \"\$p\" 2>/dev/null; do sleep 0.1; done; done < $dir/pids"
    echo ": > $dir/pids"
    for c in "$@"; do
      local port; port=$(sed -n 's/^listen_addr: 127.0.0.1://p' "$c")
      if [ "$kind" = lattice ]; then
        echo "LATTICE_JAVA_OPTS=\"-Xmx2g ${LATTICE_SERVER_OPTS:-}\" nohup $root/bin/lattice-control serve -c $c >> ${c%/*}/server.log 2>&1 &"
        echo "for _ in \$(seq 100); do p=\$(pgrep -f 'lattice.jar control serve -c $c' | head -1) && [ -n \"\$p\" ] && break; sleep 0.1; done"
        echo "echo \$p >> $dir/pids"
      else
        echo "nohup $LATTICE_HEADSCALE -c $c serve >> ${c%/*}/server.log 2>&1 &"
        echo "echo \$! >> $dir/pids"
      fi
      echo "for _ in \$(seq 300); do curl -sf http://127.0.0.1:$port/health >/dev/null 2>&1 && break; sleep 0.2; done"
    done
  } > "$dir/restart.sh"
}

storm_header() {
  echo "| server | N | storm s | storm CPU ms | full maps | add p50 ms | add p99 ms | patch p50 ms | patch p99 ms | heap MiB | RSS MiB | peak RSS MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
}

storm_lattice() { # n replicas
  local n=$1 r=$2 d=$work/storm-lattice-$1-$2 db="" urls="" metrics="" cfgs=() i
  mkdir -p "$d"; : > "$d/pids"
  if [ "$r" -gt 1 ]; then db=lattice_storm_$$_$n; psql "$pg_admin" -qc "create database $db" >/dev/null; dbs+=("$db"); fi
  for i in $(seq 0 $((r - 1))); do
    port=$(free_port)
    mkdir -p "$d/$i"; config "$d/$i" "$port" "$db"; cfgs+=("$d/$i/config.yaml")
    # All simulated nodes come from 127.0.0.1, and a storm opens N connections at once: above the default cap of
    # 256 not yet authenticated connections per address (a real storm comes from N addresses).
    printf 'limits:\n  max_connections_per_ip: 1000000\n' >> "$d/$i/config.yaml"
    urls=${urls:+$urls,}http://127.0.0.1:$port
    metrics=${metrics:+$metrics,}http://$(sed -n 's/^metrics_listen_addr: //p' "$d/$i/config.yaml")/metrics
  done
  step="starting lattice-control for the storm, N=$n, $r replica(s) (logs: $d/*/server.log)"
  for c in "${cfgs[@]}"; do
    LATTICE_JAVA_OPTS="-Xmx2g ${LATTICE_SERVER_OPTS:-}" "$root/bin/lattice-control" serve -c "$c" > "${c%/*}/server.log" 2>&1 &
    pids+=("$!"); wait_health "$(sed -n 's/^listen_addr: 127.0.0.1://p' "$c")"; server_pid "$c" >> "$d/pids"
  done
  step="creating the bench user and key on lattice-control"
  "$root/bin/lattice-control" -c "${cfgs[0]}" users create bench >/dev/null
  key=$("$root/bin/lattice-control" -c "${cfgs[0]}" preauthkeys create --user bench --reusable --expiration 2h)
  restart_script "$d" lattice "${cfgs[@]}"
  step="the storm against lattice-control, N=$n, $r replica(s)"
  local label=lattice-control; [ "$r" -gt 1 ] && label="lattice-control ×$r"
  LATTICE_STORM_METRICS=$metrics "$java" --enable-native-access=ALL-UNNAMED -Xmx4g ${LATTICE_GENERATOR_OPTS:-} -cp "$bench_cp" dev.lattice.bench.control.StormBench "$label" "$n" "$key" "$urls" "$d/pids" "$d/restart.sh"
  stop_servers "$d/pids"
}

storm_headscale() { # n
  local n=$1 d=$work/storm-headscale-$1 port; port=$(free_port)
  mkdir -p "$d"; config "$d" "$port"; : > "$d/pids"
  step="starting headscale for the storm, N=$n (log: $d/server.log)"
  "$LATTICE_HEADSCALE" -c "$d/config.yaml" serve > "$d/server.log" 2>&1 &
  pids+=("$!"); echo "$!" > "$d/pids"; wait_health "$port"
  step="creating the bench user and key on headscale"
  "$LATTICE_HEADSCALE" -c "$d/config.yaml" users create bench >/dev/null
  uid=$("$LATTICE_HEADSCALE" -c "$d/config.yaml" users list -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
  key=$("$LATTICE_HEADSCALE" -c "$d/config.yaml" preauthkeys create --user "$uid" --reusable --expiration 2h | tail -1)
  restart_script "$d" headscale "$d/config.yaml"
  step="the storm against headscale, N=$n"
  # Headscale may not survive a storm: its row says what it managed, and the run goes on.
  timeout "${LATTICE_STORM_TIMEOUT:-1800}" "$java" --enable-native-access=ALL-UNNAMED -Xmx4g -cp "$bench_cp" dev.lattice.bench.control.StormBench "headscale" "$n" "$key" "http://127.0.0.1:$port" "$d/pids" "$d/restart.sh" \
    || echo "| headscale | $n | did not finish (exit $?) | | | | | | | | | |"
  stop_servers "$d/pids"
}

# rss N: lattice-control (the launcher's own JVM settings, plus LATTICE_SERVER_OPTS) and headscale side by side, N
# nodes with open map streams on each, both read at the same moment after LATTICE_RSS_HOLD seconds (default 30).
if [ "$mode" = rss ]; then
  echo "| server | N | RSS MiB | peak RSS MiB | heap in use MiB | heap after GC MiB | threads |"
  echo "|---|---|---|---|---|---|---|"
  # LATTICE_RSS_VARIANTS="label=JVM options;label=JVM options": more lattice-controls beside the default one,
  # each with its own options (e.g. to compare collectors or heap sizes in the same run); leading NAME=VALUE words
  # are set in that server's environment
  IFS=';' read -ra variants <<<"lattice-control=${LATTICE_SERVER_OPTS:-};${LATTICE_RSS_VARIANTS:-}"
  for n in "${ns[@]}"; do
    targets=(); lpids=(); i=0
    for v in "${variants[@]}"; do
      [ -n "$v" ] || continue
      label=${v%%=*}; opts=${v#*=}; port=$((lport + 10 * i))
      # leading NAME=VALUE words are the environment (MALLOC_ARENA_MAX=16 -Xms1g)
      envs=(); while [[ $opts =~ ^[A-Z_]+=[^\ ]*( |$) ]]; do envs+=("${opts%% *}"); [[ $opts == *" "* ]] && opts=${opts#* } || opts=""; done
      d=$work/rss-$i-$n; mkdir -p "$d"; config "$d" "$port"
      step="starting $label for rss N=$n (options: ${envs[*]} ${opts:-none}; log: $d/server.log)"
      env "${envs[@]}" LATTICE_JAVA_OPTS="$opts" "$root/bin/lattice-control" serve -c "$d/config.yaml" > "$d/server.log" 2>&1 &
      lpids+=("$!"); pids+=("$!"); wait_health "$port"
      spid=$(server_pid "$d/config.yaml")
      "$root/bin/lattice-control" -c "$d/config.yaml" users create bench >/dev/null
      key=$("$root/bin/lattice-control" -c "$d/config.yaml" preauthkeys create --user bench --reusable --expiration 2h)
      targets+=("$label=http://127.0.0.1:$port,$key,$spid")
      i=$((i + 1))
    done
    hpid=""
    if [ -n "${LATTICE_HEADSCALE:-}" ]; then
      d=$work/rss-headscale-$n; mkdir -p "$d"; config "$d" $hport
      step="starting headscale for rss N=$n (log: $d/server.log)"
      "$LATTICE_HEADSCALE" -c "$d/config.yaml" serve > "$d/server.log" 2>&1 &
      hpid=$!; pids+=("$hpid"); wait_health $hport
      "$LATTICE_HEADSCALE" -c "$d/config.yaml" users create bench >/dev/null
      uid=$("$LATTICE_HEADSCALE" -c "$d/config.yaml" users list -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
      hkey=$("$LATTICE_HEADSCALE" -c "$d/config.yaml" preauthkeys create --user "$uid" --reusable --expiration 2h | tail -1)
      targets+=("headscale=http://127.0.0.1:$hport,$hkey,$hpid,http://127.0.0.1:$((hport + 1))/metrics")
    else
      echo "control-load.sh: LATTICE_HEADSCALE not set: lattice-control alone" >&2
    fi
    step="N=$n nodes with open map streams on each server"
    echo "control-load.sh: load $(cut -d' ' -f1-3 /proc/loadavg) before the join" >&2
    rows=$("$java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Xmx1g -cp "$bench_cp" dev.lattice.bench.control.RssBench "$n" "${LATTICE_RSS_HOLD:-30}" "${targets[@]}")
    echo "$rows"
    awk -F'|' '{ gsub(/ /, "", $2); r[$2] = $4; o[++k] = $2 }
      END { if (r["headscale"] > 0) for (j = 1; j <= k; j++) if (o[j] != "headscale")
        printf "| %s / headscale | | %.2fx | | | | |\n", o[j], r[o[j]] / r["headscale"] }' <<<"$rows"
    echo "control-load.sh: load $(cut -d' ' -f1-3 /proc/loadavg) after the reading" >&2
    kill "${lpids[@]}" $hpid 2>/dev/null || true; wait "${lpids[@]}" $hpid 2>/dev/null || true
  done
  exit 0
fi

if [ "$mode" = replicas ]; then
  step="reading \$LATTICE_PG_URL (a jdbc:postgresql:// URL with user and password)"
  pg=${LATTICE_PG_URL:?replicas mode needs LATTICE_PG_URL}
  pg_host=$(sed -E 's|^jdbc:postgresql://([^:/]+).*|\1|' <<<"$pg")
  pg_port=$(sed -nE 's|^jdbc:postgresql://[^:/]+:([0-9]+).*|\1|p' <<<"$pg"); pg_port=${pg_port:-5432}
  pg_user=$(sed -nE 's|.*[?&]user=([^&]+).*|\1|p' <<<"$pg")
  pg_pass=$(sed -nE 's|.*[?&]password=([^&]+).*|\1|p' <<<"$pg")
  pg_admin="postgresql://$pg_user:$pg_pass@$pg_host:$pg_port/$(sed -E 's|^jdbc:postgresql://[^/]+/([^?]*).*|\1|' <<<"$pg")"
fi
if [ "$mode" = storm ] || [ "$mode" = replicas ]; then
  storm_header
  for n in "${ns[@]}"; do
    if [ "$mode" = replicas ]; then storm_lattice "$n" 2; else storm_lattice "$n" 1; fi
    if [ -n "${LATTICE_HEADSCALE:-}" ]; then storm_headscale "$n"; fi
  done
  exit 0
fi

echo "| server | N | join s | join CPU ms | add p50 ms | add p99 ms | add max ms | patch p50 ms | patch max ms | heap MiB | RSS MiB | patch CPU ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in "${ns[@]}"; do
  port=$(free_port); d=$work/lattice-$n; mkdir -p "$d"; config "$d" "$port"
  step="starting lattice-control for N=$n (log: $d/server.log)"
  LATTICE_JAVA_OPTS="-Xmx2g ${LATTICE_SERVER_OPTS:-}" "$root/bin/lattice-control" serve -c "$d/config.yaml" > "$d/server.log" 2>&1 &
  pid=$!; pids+=("$pid"); wait_health "$port"
  step="creating the bench user and key on lattice-control"
  spid=$(pgrep -f "lattice.jar control serve -c $d/config.yaml" | head -1)
  "$root/bin/lattice-control" -c "$d/config.yaml" users create bench >/dev/null
  key=$("$root/bin/lattice-control" -c "$d/config.yaml" preauthkeys create --user bench --reusable --expiration 2h)
  step="the load generator against lattice-control, N=$n"
  "$java" --enable-native-access=ALL-UNNAMED -Xmx4g -cp "$bench_cp" dev.lattice.bench.control.ControlLoadBench "http://127.0.0.1:$port" "$key" "$spid" "$n" lattice-control
  kill "$pid"; wait "$pid" 2>/dev/null || true

  if [ -n "${LATTICE_HEADSCALE:-}" ]; then
    port=$(free_port); d=$work/headscale-$n; mkdir -p "$d"; config "$d" "$port"
    step="starting headscale for N=$n (log: $d/server.log)"
    "$LATTICE_HEADSCALE" -c "$d/config.yaml" serve > "$d/server.log" 2>&1 &
    pid=$!; pids+=("$pid"); wait_health "$port"
    step="creating the bench user and key on headscale"
    "$LATTICE_HEADSCALE" -c "$d/config.yaml" users create bench >/dev/null
    uid=$("$LATTICE_HEADSCALE" -c "$d/config.yaml" users list -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
    key=$("$LATTICE_HEADSCALE" -c "$d/config.yaml" preauthkeys create --user "$uid" --reusable --expiration 2h | tail -1)
    step="the load generator against headscale, N=$n"
    "$java" --enable-native-access=ALL-UNNAMED -Xmx4g -cp "$bench_cp" dev.lattice.bench.control.ControlLoadBench "http://127.0.0.1:$port" "$key" "$pid" "$n" headscale
    kill "$pid"; wait "$pid" 2>/dev/null || true
  fi
done
