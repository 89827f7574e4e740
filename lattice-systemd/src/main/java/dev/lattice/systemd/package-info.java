/** The daemons' side of systemd's service protocol: readiness and stopping notifications (sd_notify). */
package dev.lattice.systemd;
