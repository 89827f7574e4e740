/**
 * The {@code lattice} command line (tailscale's {@code cmd/tailscale/cli}): picocli subcommands with tailscale's
 * names, flags and output ({@code up}, {@code down}, {@code logout}, {@code status}, {@code ping}, {@code netcheck},
 * {@code ip}, {@code whois}, {@code version}) over {@link dev.lattice.agent.localapi.LocalApiClient}. Go's
 * {@code text/tabwriter} and {@code time.Duration} formatting are reproduced so output matches byte for byte.
 */
package dev.lattice.agent.cli;
