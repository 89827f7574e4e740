#!/bin/bash
# Runs STEPS as root inside a throwaway copy of this machine's root filesystem, so packages can be installed
# with dpkg -i without touching the host. Called by ThrowawayRoot inside
#   unshare --mount --propagation private --net --pid --fork --kill-child
# so every mount below is private to that namespace, the network is a fresh one with only loopback, and every
# process dies with it. Writes go to a tmpfs overlaid on /; RESULTS (a host directory) is bind-mounted at
# /results and DEBS at /debs.
#   throwaway-root.sh WORKDIR DEBS RESULTS STEPS
set -euo pipefail
work=$1 debs=$2 results=$3 steps=$4

mount -t tmpfs -o size=2g tmpfs "$work"
mkdir "$work/upper" "$work/work" "$work/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/work" "$work/root"
root=$work/root
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/tmp"
# An empty /run: no /run/systemd/system, so maintainer scripts do not try to reach a service manager.
mount -t tmpfs tmpfs "$root/run"
mkdir -p "$root/results" "$root/debs"
mount --bind "$results" "$root/results"
mount --bind -o ro "$debs" "$root/debs"
cp "$steps" "$root/tmp/steps.sh"
ip link set lo up

exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash /tmp/steps.sh
