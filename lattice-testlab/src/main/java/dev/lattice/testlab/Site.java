package dev.lattice.testlab;

/**
 * One site of a {@link NatLab}: a {@link Router} and the one host behind it.
 *
 * @param name    the name given to {@link NatLab.Builder#site}; also the host's name in the lab
 * @param router  the site's NAT router (lab host {@code <name>-gw})
 * @param host    the host on the site's LAN; its default route goes through the router
 * @param address the host's LAN address, e.g. {@code 192.168.11.2}
 */
public record Site(String name, Router router, Host host, String address) {
}
