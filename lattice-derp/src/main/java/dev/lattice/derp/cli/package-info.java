/** The standalone {@code lattice derper} command. */
package dev.lattice.derp.cli;
