/**
 * The node agent, in tailscaled's role. Packages, one job each:
 * {@code control} (control client: register, map stream), {@code netmap} (the network map built from map
 * responses), {@code state} (persisted keys and prefs), {@code magicsock} (one UDP socket for WireGuard,
 * disco and STUN; DERP; path selection), {@code netcheck} (STUN and DERP latency probes), {@code filter}
 * (packet filter), {@code dns} (MagicDNS resolver and host DNS config), {@code tstun} (the TUN wrapper that
 * filters and intercepts DNS), {@code router} (addresses and routes on the host), {@code engine} (netmap →
 * WireGuard, routes, filter, DNS), {@code health} (status warnings), {@code ipn} (the backend API), {@code localapi} (its unix-socket HTTP
 * server and client), {@code cli} ({@code lattice}) and {@code daemon} ({@code latticed}).
 */
package dev.lattice.agent;
