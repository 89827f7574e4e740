package dev.lattice.testlab;

/**
 * A veth pair between two hosts: {@code aDev} in {@code a}'s namespace, {@code bDev} in {@code b}'s. Both ends
 * are up once {@link Lab#link} returns. The pair disappears with either namespace.
 */
public record Link(Host a, String aDev, Host b, String bDev) {

    /** The device name of this link's end in {@code host}. */
    public String devOn(Host host) {
        if (host == a) {
            return aDev;
        }
        if (host == b) {
            return bDev;
        }
        throw new IllegalArgumentException(host + " is not an end of " + this);
    }

    /** Deletes the veth pair (both ends), e.g. to simulate a cable pull. */
    public void delete() {
        a.ip("link", "del", aDev);
    }

    /** Sets both ends down. */
    public void down() {
        a.down(aDev);
        b.down(bDev);
    }

    /** Sets both ends up. */
    public void up() {
        a.up(aDev);
        b.up(bDev);
    }

    @Override
    public String toString() {
        return a.name() + ":" + aDev + " <-> " + b.name() + ":" + bDev;
    }
}
