/** DNS records served to nodes from outside the config file: the watched {@code dns.extra_records_path} JSON file. */
package dev.lattice.control.dns;
