#!/bin/bash
# Boots systemd in a throwaway copy of this machine's root filesystem (systemd-nspawn --boot, its own network
# with only loopback) with the packages installed, into lattice-test.target: the three Lattice units and a
# probe unit ordered after them that runs STEPS and powers the container off. Called by ThrowawayRoot inside
#   unshare --mount --propagation private --net --pid --fork --kill-child
# so the overlay, the tmpfs over /run and every process are private to that namespace and vanish with it.
#   systemd-boot.sh WORKDIR DEBS RESULTS STEPS
set -euo pipefail
work=$1 debs=$2 results=$3 steps=$4

mount -t tmpfs -o size=2g tmpfs "$work"
# nspawn keeps its own state under /run/systemd/nspawn: on a tmpfs here, not on the host.
mount -t tmpfs tmpfs /run
mkdir "$work/upper" "$work/work" "$work/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/work" "$work/root"
root=$work/root
mkdir -p "$root/debs"
cp "$debs"/*.deb "$root/debs/"
cp "$steps" "$root/probe-steps.sh"
# No Java: what runs comes from the packages. A machine id of its own (systemd refuses the host's).
rm -rf "$root/usr/lib/jvm" "$root/etc/alternatives/java" "$root/usr/bin/java"
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id"
echo >>"$root/etc/machine-id"

mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/run"
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c 'dpkg -i /debs/lattice-runtime_*.deb \
  /debs/lattice-control_*.deb /debs/latticed_*.deb /debs/lattice-derper_*.deb' >"$results/dpkg.log" 2>&1
umount -R "$root/dev" "$root/proc" "$root/run"

# The relay without certificates: plain HTTP on loopback (its packaged flags want a host name and certs).
echo 'FLAGS="-a 127.0.0.1:3340 --certmode none --stun-port 3479"' >"$root/etc/default/lattice-derper"
cat >"$root/etc/systemd/system/lattice-probe.service" <<'UNIT'
[Unit]
Description=LatticeSystemdTest probe
After=lattice-control.service latticed.service lattice-derper.service
[Service]
Type=oneshot
ExecStart=/bin/bash /probe-steps.sh
ExecStopPost=/bin/systemctl --no-block poweroff
UNIT
cat >"$root/etc/systemd/system/lattice-test.target" <<'UNIT'
[Unit]
Description=Lattice units under test
Requires=basic.target
After=basic.target
Wants=lattice-control.service latticed.service lattice-derper.service lattice-probe.service
UNIT

exec timeout 150 systemd-nspawn -q -D "$root" --boot --private-network --register=no --keep-unit \
  --bind="$results:/results" systemd.unit=lattice-test.target >"$results/console.log" 2>&1
