#!/usr/bin/env bash
# route-changes.sh: latticed's route changes over rtnetlink (NetlinkSocket) against what it ran before (one
# `ip -force -batch -` process per change), in fresh JVMs, alternated, in a scratch namespace. See bench/README.md.
#
#   sudo bench/route-changes.sh [-n ROUTES] [-r ROUNDS] [-j JVMS]
set -uo pipefail

usage() {
  cat <<USAGE
usage: $0 [-n ROUTES] [-r ROUNDS] [-j JVMS]
  -n ROUTES  routes per change, besides one address (default 1: a first up with one peer)
  -r ROUNDS  warm rounds after the first change (each: remove all, add all; default 100)
  -j JVMS    fresh JVMs per kind, alternated (default 5); the table shows medians
environment:
  LATTICE_JAR  the jar with the agent (default: <repo>/lattice-dist/target/lattice.jar)
  JAVA_HOME    a JDK 25 (default: the first under /usr/lib/jvm)
USAGE
}

[ "${1:-}" = --help ] && { usage; exit 0; }
ROUTES=1 ROUNDS=100 JVMS=5
while getopts "n:r:j:h" opt; do
  case $opt in
    n) ROUTES=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    j) JVMS=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
for v in "$ROUTES" "$ROUNDS" "$JVMS"; do
  [[ $v =~ ^[0-9]+$ ]] && [ "$v" -ge 1 ] || { echo "not a whole number >= 1: $v" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "needs root (a network namespace and a TUN)" >&2; exit 1; }
here=$(cd "${BASH_SOURCE[0]%/*}" && pwd)
jar=${LATTICE_JAR:-$here/../lattice-dist/target/lattice.jar}
[ -f "$jar" ] || { echo "no $jar: build it (./mvnw -q package -DskipTests) or set LATTICE_JAR" >&2; exit 1; }
java=${JAVA_HOME:+$JAVA_HOME/bin/java}
[ -n "$java" ] || java=$(ls /usr/lib/jvm/*25*/bin/java 2>/dev/null | head -1)
[ -x "${java:-}" ] || { echo "no JDK 25: set JAVA_HOME" >&2; exit 1; }

ns=lt-rc$$
cleanup() { ip netns del "$ns" 2>/dev/null; }
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$ns" && ip -n "$ns" link set lo up &&
  ip netns exec "$ns" ip tuntap add lt0 mode tun && ip -n "$ns" link set lt0 up || { echo "could not make the lab" >&2; exit 1; }

declare -A FIRST=() WARM=()
for j in $(seq 1 "$JVMS"); do
  for kind in ip netlink; do
    out=$(ip netns exec "$ns" "$java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -cp "$jar" \
      "$here/RouteChanges.java" "$kind" lt0 "$ROUTES" "$ROUNDS" 2>&1 | tail -1)
    [[ $out =~ ^[0-9]+\ [0-9]+$ ]] || { echo "$kind failed: $out" >&2; exit 1; }
    FIRST[$kind]+="${out% *} " WARM[$kind]+="${out#* } "
    ip -n "$ns" route flush table 52; ip -n "$ns" addr flush dev lt0
  done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", (b > 0) ? a / b : 0 }'; }
fi=$(median <<<"${FIRST[ip]}") fn=$(median <<<"${FIRST[netlink]}")
wi=$(median <<<"${WARM[ip]}") wn=$(median <<<"${WARM[netlink]}")
echo "Route changes, 1 address + $ROUTES route(s) into table 52 (median of $JVMS fresh JVMs per kind, alternated)"
echo
echo "| change | rtnetlink ms | ip -batch process ms | rtnetlink / ip |"
echo "|---|---|---|---|"
echo "| first in the JVM (a first up) | $(ms "$fn") | $(ms "$fi") | $(ratio "$fn" "$fi") |"
echo "| warm (mean of $ROUNDS rounds' removes and adds) | $(ms "$wn") | $(ms "$wi") | $(ratio "$wn" "$wi") |"
echo
echo "all runs, first / warm µs: ip: ${FIRST[ip]}/ ${WARM[ip]}; netlink: ${FIRST[netlink]}/ ${WARM[netlink]}"
