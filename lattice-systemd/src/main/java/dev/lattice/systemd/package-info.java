/** The daemons' side of systemd's service protocol: readiness and stopping notifications (sd_notify), a bounded stop. */
package dev.lattice.systemd;
