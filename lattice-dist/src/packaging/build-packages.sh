#!/usr/bin/env bash
# Builds Lattice's .deb packages from lattice.jar and the JDK that built it. Run by Maven in lattice-dist's
# package phase (after the shade plugin made lattice.jar); offline, no root (dpkg-deb --root-owner-group).
#
#   build-packages.sh --jar lattice.jar --version 0.1.0-SNAPSHOT --out DIR [--java-home JDK]
#
# Packages, for the architecture of the build machine and its JDK (dpkg --print-architecture):
#   lattice-runtime  /usr/lib/lattice: a jlink'd Java runtime (runtime-modules), lattice.jar, lattice-cli.jar and
#                    the launchers.
#                    Shared, so the 70 MB runtime is installed once however many roles a machine has.
#   lattice-control  the control server: /usr/bin/lattice-control, its unit, /etc/lattice/config.yaml,
#                    the lattice system user, state in /var/lib/lattice. Enabled and started at install.
#   latticed         the node agent and its CLI: /usr/sbin/latticed, /usr/bin/lattice, /usr/bin/lattice-wg,
#                    its unit, /etc/default/latticed, state in /var/lib/latticed. Enabled and started at install.
#   lattice-derper   the standalone DERP relay: /usr/bin/lattice-derper, its unit, /etc/default/lattice-derper.
#                    Installed disabled: it needs a host name and certificates first.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
jar="" version="" out="" java_home=${JAVA_HOME:-}
while [ $# -gt 0 ]; do
  case $1 in
    --jar) jar=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --java-home) java_home=$2; shift 2 ;;
    *) echo "build-packages: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$jar" ] || { echo "build-packages: --jar $jar: no such file" >&2; exit 2; }
# The CLI's quick path (bin/lattice runs it when present), made beside lattice.jar by the same build.
cli_jar=$(dirname "$jar")/lattice-cli.jar
[ -f "$cli_jar" ] || { echo "build-packages: $cli_jar: no such file (lattice-dist's cli-jar execution makes it)" >&2; exit 2; }
[ -n "$version" ] && [ -n "$out" ] || { echo "build-packages: --version and --out are required" >&2; exit 2; }
jlink=$java_home/bin/jlink
[ -x "$jlink" ] || { echo "build-packages: no jlink in --java-home/JAVA_HOME ($java_home)" >&2; exit 2; }
if ! command -v dpkg-deb >/dev/null; then
  # Not a Debian-family machine: nothing to build with. Say so; the jar and bin/ still work.
  echo "build-packages: dpkg-deb not found: no .deb packages built (build on Debian or Ubuntu)" >&2
  exit 0
fi

# Debian's version order: 0.1.0~SNAPSHOT sorts before the 0.1.0 release.
deb_version=${version//-/\~}
arch=$(dpkg --print-architecture)
work=$out/work
debs=$out/deb
start=$(date +%s%N)
rm -rf "$work/stage" "$debs"
mkdir -p "$work" "$debs"

# --- the runtime: jlink, reused while the JDK and the module list are the same ------------------------------
modules=$(grep -v '^[[:space:]]*#' "$here/runtime-modules" | grep -v '^[[:space:]]*$' | paste -sd, -)
jdk_release=$(sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$java_home/release")
key="$jdk_release $arch $modules cds"
if [ ! -f "$work/runtime.key" ] || [ "$(cat "$work/runtime.key")" != "$key" ]; then
  rm -rf "$work/runtime" "$work/runtime.key"
  # No --compress: the .deb is compressed anyway, and uncompressed modules start faster. The default CDS
  # archive (lib/server/classes.jsa, which a JDK has and a jlink'd image lacks unless asked) takes a third
  # off every JVM start; the CLI's own AOT cache is built on top of it (see bin/lattice-launch).
  "$jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --generate-cds-archive \
    --output "$work/runtime"
  echo "$key" > "$work/runtime.key"
fi

# --- staging -----------------------------------------------------------------------------------------------
stage() { echo "$work/stage/$1"; }

put() { # put PKG MODE SRC DEST: copy one file into a package's tree
  local dest; dest=$(stage "$1")$4
  mkdir -p "$(dirname "$dest")"
  install -m "$2" "$3" "$dest"
}

link() { # link PKG TARGET LINKNAME
  local name; name=$(stage "$1")$3
  mkdir -p "$(dirname "$name")"
  ln -sfn "$2" "$name"
}

# lattice-runtime: the JVM, the jar, the launchers (the JVM options each role starts with live in bin/).
rt=$(stage lattice-runtime)
mkdir -p "$rt/usr/lib/lattice"
cp -a "$work/runtime" "$rt/usr/lib/lattice/runtime"
put lattice-runtime 0644 "$jar" /usr/lib/lattice/lattice.jar
put lattice-runtime 0644 "$cli_jar" /usr/lib/lattice/lattice-cli.jar
for f in lattice-launch lattice-control latticed lattice lattice-derper lattice-wg; do
  put lattice-runtime 0755 "$repo/bin/$f" "/usr/lib/lattice/bin/$f"
done
put lattice-runtime 0644 "$here/deb/lattice-runtime/README.Debian" /usr/share/doc/lattice-runtime/README.Debian

# lattice-control
link lattice-control ../lib/lattice/bin/lattice-control /usr/bin/lattice-control
put lattice-control 0644 "$here/systemd/lattice-control.service" /usr/lib/systemd/system/lattice-control.service
put lattice-control 0644 "$here/etc/lattice/config.yaml" /etc/lattice/config.yaml
put lattice-control 0644 "$here/deb/lattice-control/README.Debian" /usr/share/doc/lattice-control/README.Debian

# latticed (+ the lattice CLI and lattice-wg, the agent's userspace WireGuard)
link latticed ../lib/lattice/bin/latticed /usr/sbin/latticed
link latticed ../lib/lattice/bin/lattice /usr/bin/lattice
link latticed ../lib/lattice/bin/lattice-wg /usr/bin/lattice-wg
put latticed 0644 "$here/systemd/latticed.service" /usr/lib/systemd/system/latticed.service
put latticed 0644 "$here/etc/default/latticed" /etc/default/latticed
put latticed 0644 "$here/deb/latticed/README.Debian" /usr/share/doc/latticed/README.Debian

# lattice-derper
link lattice-derper ../lib/lattice/bin/lattice-derper /usr/bin/lattice-derper
put lattice-derper 0644 "$here/systemd/lattice-derper.service" /usr/lib/systemd/system/lattice-derper.service
put lattice-derper 0644 "$here/etc/default/lattice-derper" /etc/default/lattice-derper
put lattice-derper 0644 "$here/deb/lattice-derper/README.Debian" /usr/share/doc/lattice-derper/README.Debian

# --- control files, maintainer scripts, checksums; then dpkg-deb ----------------------------------------------
# Per role: unit, the user it runs as, its state directory (removed only on purge), whether it starts at
# install, and its secret-bearing conffiles (made root:lattice 0640 on first install).
declare -A unit=([lattice-control]=lattice-control.service [latticed]=latticed.service [lattice-derper]=lattice-derper.service)
declare -A run_as=([lattice-control]=lattice [latticed]=root [lattice-derper]=lattice)
declare -A state_dir=([lattice-control]=/var/lib/lattice [latticed]=/var/lib/latticed [lattice-derper]=/var/lib/lattice-derper)
declare -A start_at_install=([lattice-control]=yes [latticed]=yes [lattice-derper]=no)
declare -A private_conf=([lattice-control]=/etc/lattice/config.yaml [latticed]="" [lattice-derper]="")

for pkg in lattice-runtime lattice-control latticed lattice-derper; do
  root=$(stage "$pkg")
  mkdir -p "$root/DEBIAN"
  size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  sed -e "s/@VERSION@/$deb_version/g" -e "s/@ARCH@/$arch/g" -e "s/@INSTALLED_SIZE@/$size/g" \
    "$here/deb/$pkg/control" > "$root/DEBIAN/control"
  if [ -d "$root/etc" ]; then
    (cd "$root" && find etc -type f | sort | sed 's|^|/|') > "$root/DEBIAN/conffiles"
  fi
  if [ "$pkg" != lattice-runtime ]; then
    for script in postinst prerm postrm; do
      sed -e "s|@PACKAGE@|$pkg|g" -e "s|@UNIT@|${unit[$pkg]}|g" -e "s|@RUN_AS@|${run_as[$pkg]}|g" \
        -e "s|@STATE_DIR@|${state_dir[$pkg]}|g" -e "s|@START_AT_INSTALL@|${start_at_install[$pkg]}|g" \
        -e "s|@PRIVATE_CONF@|${private_conf[$pkg]}|g" \
        "$here/deb/$script.in" > "$root/DEBIAN/$script"
      chmod 0755 "$root/DEBIAN/$script"
    done
  fi
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
  # gzip: every dpkg reads it (zstd needs dpkg >= 1.21.18, not in Debian 11), and it takes 8 s where xz
  # takes 100 s for 14% less (measured on the 2-core CI machine).
  dpkg-deb --root-owner-group -Zgzip -z6 --build "$root" "$debs/${pkg}_${deb_version}_${arch}.deb" >/dev/null
done

ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "build-packages: $(cd "$debs" && ls | tr '\n' ' ')in $debs (${ms} ms)"
