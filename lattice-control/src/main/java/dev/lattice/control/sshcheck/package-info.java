/** Tailscale SSH "check" rules: {@code /machine/ssh/action}, where a node asks whether to let a connection in, and the check's verdict. */
package dev.lattice.control.sshcheck;
