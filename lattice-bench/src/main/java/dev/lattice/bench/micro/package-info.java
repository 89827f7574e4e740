/** JMH micro-benchmarks of hot paths, each comparing our code with what it replaces in the same run. */
package dev.lattice.bench.micro;
