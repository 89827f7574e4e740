/**
 * The local API (tailscale's {@code ipn/localapi}): HTTP/1.1 over a unix socket between {@code latticed} and the
 * {@code lattice} CLI. {@link dev.lattice.agent.localapi.LocalApiServer} serves a {@link dev.lattice.agent.ipn.Backend}
 * under {@code /localapi/v0/}; {@link dev.lattice.agent.localapi.LocalApiClient} is the CLI's typed client.
 * Bodies are the {@code ipn} records in tailscale's JSON field names; errors are {@code {"error":"..."}}.
 */
package dev.lattice.agent.localapi;
