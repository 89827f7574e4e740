/**
 * The control server's configuration, read from Headscale's YAML format, and the key files it points at.
 * Entry points: {@link dev.lattice.control.config.ControlConfig#load}, {@link dev.lattice.control.config.KeyFiles}.
 */
package dev.lattice.control.config;
