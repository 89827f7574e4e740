/** Prometheus metrics shared by Lattice's servers and agent: registry, JVM/process metrics, exposition, listener. */
package dev.lattice.metrics;
