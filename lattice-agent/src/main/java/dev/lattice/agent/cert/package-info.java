/** TLS certificates for the node's MagicDNS name from an ACME CA (DNS-01 through the control server), cached in the state dir. */
package dev.lattice.agent.cert;
