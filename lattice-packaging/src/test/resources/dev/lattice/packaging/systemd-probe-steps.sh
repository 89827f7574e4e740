#!/bin/bash
# Runs under systemd (lattice-probe.service, ordered after the Lattice units, so a Type=notify unit is here
# only once it has said READY=1). Results as in install-steps.sh: /results/NAME.out and NAME.rc.
set -u
step() { local name=$1; shift; "$@" >"/results/$name.out" 2>&1; echo $? >"/results/$name.rc"; }
show() { systemctl show -p ActiveState -p SubState -p Result -p NRestarts -p StatusText -p MainPID "$1"; }

step control show lattice-control
step latticed show latticed
step derper show lattice-derper
step users-create lattice-control users create alice
step lattice-status lattice status
step reload systemctl reload lattice-control
sleep 1
step after-reload show lattice-control
step users-list lattice-control users list -o json
step stop systemctl stop lattice-control latticed lattice-derper
step after-stop sh -c 'for u in lattice-control latticed lattice-derper; do systemctl show -p Id -p ActiveState -p Result $u; done'
step journal journalctl -u lattice-control -u latticed -u lattice-derper --no-pager -o cat
exit 0
