#!/usr/bin/env bash
# policy-bench.sh: the policy compile benchmark (PolicyCompileBench: 10,000 nodes, 1,000 users, 50 groups, 20 tags,
# 500 rules) and, when a reference driver is given, headscale's policy v2 on the identical tailnet in the same run.
# See bench/README.md, "Policy compile".
#
#   bench/policy-bench.sh [-r] [-n ROUNDS] [-P ROUNDS] [-d DIR] [-k]
#
# The Java bench dumps its tailnet (users.json, nodes.json, policy.hujson) and, for 200 sampled nodes, its packet
# filter and visible peers (lattice-sample.json). The reference driver reads the same files, times the same three
# things and reports how many sampled nodes differ. This script builds only Lattice (through Maven, test scope);
# the reference driver must already be built (it links headscale and is kept outside the repo).
set -uo pipefail

usage() {
  cat <<USAGE
usage: $0 [-r] [-n ROUNDS] [-P ROUNDS] [-d DIR] [-k]
  -r         run the reference first (default: Lattice first), to alternate the order between runs
  -n ROUNDS  timed rounds per side, in one process each (default 3); the table shows the median
  -P ROUNDS  time the reference's all-pairs BuildPeerMap only in the last ROUNDS rounds (default: all; it is
             O(n^2) and, like FilterForNode for all nodes, takes minutes per round with this policy)
  -d DIR     where the dump and outputs go (default: a new temporary directory, removed unless -k)
  -k         keep DIR
environment:
  LATTICE_POLICYBENCH_REF  reference driver binary (flags: -dump DIR -rounds N -peermaprounds N); when unset,
                           only Lattice runs
  JAVA_HOME                JDK 25 (default /usr/lib/jvm/temurin-25-jdk-amd64)
USAGE
}

REF_FIRST=0 ROUNDS=3 PEERMAP=-1 DIR="" KEEP=0
while getopts "rn:P:d:kh" opt; do
  case $opt in
    r) REF_FIRST=1 ;;
    n) ROUNDS=$OPTARG ;;
    P) PEERMAP=$OPTARG ;;
    d) DIR=$OPTARG; KEEP=1 ;;
    k) KEEP=1 ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[[ $ROUNDS =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ] || { echo "not a whole number >= 1: $ROUNDS" >&2; exit 2; }
[[ $PEERMAP =~ ^(-1|[0-9]+)$ ]] || { echo "not a whole number: $PEERMAP" >&2; exit 2; }
REF=${LATTICE_POLICYBENCH_REF:-}
if [ -n "$REF" ] && [ ! -x "$REF" ]; then
  echo "LATTICE_POLICYBENCH_REF is not an executable: $REF" >&2
  exit 1
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
if [ -z "$DIR" ]; then DIR=$(mktemp -d /tmp/policy-bench.XXXXXX); fi
mkdir -p "$DIR"
cleanup() { if [ "$KEEP" -eq 0 ]; then rm -rf "$DIR"; else echo "outputs kept in $DIR"; fi; }
trap cleanup EXIT

java_bench() { # $1 = rounds (0 = dump only)
  (cd "$ROOT" && ./mvnw -q -B -o -pl lattice-control -am test -Dtest=PolicyCompileBench -Dpolicy.bench=true \
    -Dsurefire.failIfNoSpecifiedTests=false -Dpolicy.bench.dump="$DIR" -Dpolicy.bench.rounds="$1")
}

run_lattice() {
  echo "== lattice ($ROUNDS rounds)"
  java_bench "$ROUNDS" > "$DIR/lattice.out" 2>&1 || { cat "$DIR/lattice.out" >&2; echo "lattice bench failed" >&2; exit 1; }
  grep '^round' "$DIR/lattice.out"
}

run_ref() {
  echo "== headscale reference ($ROUNDS rounds)"
  "$REF" -dump "$DIR" -rounds "$ROUNDS" -peermaprounds "$PEERMAP" > "$DIR/ref.out" 2> >(tee "$DIR/ref.err" >&2) \
    || echo "reference driver failed (exit $?; e.g. killed for memory); the table shows the rounds it finished" >&2
  grep '^round=' "$DIR/ref.out"
}

# The reference needs the dump before it can go first; the dump (and sample) do not depend on timing.
if [ -n "$REF" ] && [ "$REF_FIRST" -eq 1 ]; then
  echo "== dumping the tailnet"
  java_bench 0 > "$DIR/dump.out" 2>&1 || { cat "$DIR/dump.out" >&2; echo "dump failed" >&2; exit 1; }
  run_ref
  run_lattice
else
  run_lattice
  [ -n "$REF" ] && run_ref
fi

# median of one key over the round= lines of a file ("" when absent)
median() {
  [ -f "$1" ] || return 0
  grep '^round=' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }' | sort -g \
    | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

REFRES=""
[ -n "$REF" ] && REFRES="$DIR/ref.out"
echo
echo "median over the rounds that measured it ($ROUNDS per side); ratio = lattice / headscale (time: above 1 means Lattice is slower)"
printf '%-46s | %12s | %12s | %7s\n' metric lattice headscale ratio
printf '%-46s-+-%12s-+-%12s-+-%7s\n' "$(printf -- '-%.0s' {1..46})" ------------ ------------ -------
row() { # label key is_time
  local l h r
  l=$(median "$DIR/lattice-result.txt" "$2")
  h=$(median "$REFRES" "$2")
  r="-"
  if [ "$3" = 1 ] && [ -n "$l" ] && [ -n "$h" ]; then r=$(awk -v a="$l" -v b="$h" 'BEGIN { if (b > 0) printf "%.3g", a / b; else print "-" }'); fi
  if [ "$3" = 0 ] && [ -n "$l" ] && [ -n "$h" ]; then [ "$l" = "$h" ] && r="same" || r="differ"; fi
  printf '%-46s | %12s | %12s | %7s\n' "$1" "${l:--}" "${h:--}" "$r"
}
row "compile (ms)" compile_ms 1
row "packet filter, all 10,000 nodes (ms)" filter_ms 1
row "  filter rules emitted, total" filter_rules 0
row "visibility, 1,000 viewers x all (ns/pair)" visible_ns_per_pair 1
row "  visible (viewer, peer) pairs" visible 0
row "peer map, all pairs (ms)" peermap_ms 1
row "  linked pairs" peermap_linked 0

if [ -n "$REF" ]; then
  echo
  grep -E '^equiv' "$DIR/ref.out" | cut -c1-2000
fi
