/**
 * The made-up DERP relay and STUN server of latticed's AOT training run, loaded by a class loader of their own so that
 * their classes stay out of the cache every latticed maps (see {@code dev.lattice.agent.daemon.DerpWarmup}).
 */
package dev.lattice.agent.training;
