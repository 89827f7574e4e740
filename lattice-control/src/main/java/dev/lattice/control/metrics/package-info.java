/** Prometheus metrics of the control server and the listener that serves them on {@code metrics_listen_addr}. */
package dev.lattice.control.metrics;
