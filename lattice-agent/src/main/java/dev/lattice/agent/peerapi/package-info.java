/**
 * The peer API (tailscale's {@code ipn/ipnlocal/peerapi.go}): the small HTTP server every node runs on its tailnet
 * addresses for its peers, with a route registry features plug into (now {@code /dns-query}, the DoH proxy an exit
 * node offers; and {@code /v0/ingress}, where the Funnel ingress hands over connections), and the client side's view of a peer's peer API (its port and DoH URL from Hostinfo.Services).
 */
package dev.lattice.agent.peerapi;
