/**
 * The {@code /machine/map} logic (Headscale's {@code poll.go}): a map request's checks, what the client reports
 * (disco key, endpoints, Hostinfo) stored and announced, then a stream of updates or a one-shot map.
 */
package dev.lattice.control.mapping;
