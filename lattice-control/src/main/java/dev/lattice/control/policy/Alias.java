package dev.lattice.control.policy;

import dev.lattice.wire.ip.IpPrefix;
import java.util.List;

/**
 * One selector in a policy: who or what a rule's {@code src}/{@code dst} names. {@link #toString()} gives the
 * policy-file form back. Identity aliases (users, groups, tags, autogroups) follow nodes; address aliases
 * (hosts, prefixes) are exactly their prefix and never expand to a matching node's other addresses.
 */
public sealed interface Alias {

    /** {@code *}: any tailnet address as a source (plus approved subnets), anything as a destination. */
    record Wildcard() implements Alias {
        @Override
        public String toString() {
            return "*";
        }
    }

    /** Lattice's group member naming a group at the identity provider: {@code oidc-group:eng}. */
    String IDP_GROUP = "oidc-group:";

    /**
     * {@code alice@} or {@code alice@example.com} (also written {@code user:alice@example.com}): the user's untagged
     * devices; {@code user:*@example.com}: those of every user whose email is at the domain. As a member of a {@code group:}, also
     * {@code oidc-group:NAME}: every user whose identity provider put them in group NAME at their last login.
     */
    record User(String token) implements Alias {
        /** Tailscale's {@code user:*@example.com}: every user whose email is at the domain. */
        public boolean isDomainWildcard() {
            return token.startsWith("*@");
        }

        /** The domain of {@code *@domain}. */
        public String domain() {
            return token.substring(token.indexOf('@') + 1);
        }

        /** Whether this member names an identity provider's group rather than one user. */
        public boolean isIdpGroup() {
            return token.startsWith(IDP_GROUP);
        }

        @Override
        public String toString() {
            return token;
        }
    }

    /** {@code group:eng}: the untagged devices of the group's users. */
    record Group(String name) implements Alias {
        @Override
        public String toString() {
            return name;
        }
    }

    /** {@code tag:server}: the nodes carrying the tag. */
    record Tag(String name) implements Alias {
        @Override
        public String toString() {
            return name;
        }
    }

    /** A name from the {@code hosts} section. */
    record Host(String name) implements Alias {
        @Override
        public String toString() {
            return name;
        }
    }

    /** A literal IP address or CIDR. */
    record Prefix(IpPrefix prefix) implements Alias {
        @Override
        public String toString() {
            return prefix.bits() == prefix.bytes().length * 8 ? IpPrefix.format(prefix.address()) : prefix.toString();
        }
    }

    /** {@code autogroup:member|tagged|self|internet|danger-all|nonroot}. */
    record AutoGroup(String name) implements Alias {
        public static final List<String> KNOWN = List.of("autogroup:internet", "autogroup:member",
                "autogroup:nonroot", "autogroup:tagged", "autogroup:self", "autogroup:danger-all");

        public boolean is(String n) {
            return name.equals(n);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    Wildcard WILDCARD = new Wildcard();
    String SELF = "autogroup:self";
    String MEMBER = "autogroup:member";
    String TAGGED = "autogroup:tagged";
    String INTERNET = "autogroup:internet";
    String DANGER_ALL = "autogroup:danger-all";
    String NONROOT = "autogroup:nonroot";
}
