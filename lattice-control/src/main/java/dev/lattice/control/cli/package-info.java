/**
 * The {@code lattice-control} command line, shaped like Headscale's ({@code users}, {@code nodes},
 * {@code preauthkeys}, {@code apikeys}, {@code auth}, {@code serve}); every command but {@code serve} talks to the
 * running server over its admin unix socket. Entry point: {@link dev.lattice.control.cli.ControlCli#run}.
 */
package dev.lattice.control.cli;
