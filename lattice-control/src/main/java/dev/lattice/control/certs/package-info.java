/** ACME DNS-01 for the nodes' MagicDNS names: the challenge TXT records nodes set through {@code /machine/set-dns}. */
package dev.lattice.control.certs;
