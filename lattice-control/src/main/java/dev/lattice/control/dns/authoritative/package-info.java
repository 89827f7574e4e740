/** An authoritative-only DNS server for the tailnet's zone: SOA/NS, ACME challenge TXT records, optionally node addresses. */
package dev.lattice.control.dns.authoritative;
