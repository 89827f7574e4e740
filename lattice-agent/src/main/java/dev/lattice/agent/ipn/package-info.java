/**
 * The agent's backend as the local API and CLI see it (tailscale's {@code ipn}): the {@link Backend} interface,
 * its states, the JSON records of status, ping, netcheck and whois, and the checks of routing prefs (advertised
 * routes, exit nodes) the CLI and the backend share. Field names follow tailscale's
 * {@code ipnstate} JSON so tools written for {@code tailscale status --json} read ours.
 */
package dev.lattice.agent.ipn;
