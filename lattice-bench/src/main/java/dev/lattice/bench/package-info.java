/** Benchmarks, run by the scripts in bench/; they print tables and never assert. */
package dev.lattice.bench;
