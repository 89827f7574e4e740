package dev.lattice.control.policy;

import dev.lattice.control.netmap.PacketPolicy;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.FilterRule;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * A policy compiled against one set of nodes and users: answers are precomputed so the netmap builder can ask
 * them per node and per pair without recompiling. Recompile when nodes or users change in a way the policy can
 * see (added, removed, tags, addresses, owner).
 */
public interface CompiledPolicy extends PacketPolicy {
    /** The inbound packet filter for {@code node} (tailcfg.FilterRule list; empty = deny all). */
    @Override
    List<FilterRule> filterFor(TailnetNode node);

    /** Whether {@code viewer} may learn about {@code peer}: either can reach the other. */
    @Override
    boolean canSee(TailnetNode viewer, TailnetNode peer);

    /**
     * The routes of {@code routes} that {@code viewer} may use, as headscale's {@code Node.CanAccessRoute}: a rule
     * lets it send into the route, or lets the route's addresses reach it (return traffic), or, for a subnet
     * router, connects its own subnets with the route in either direction.
     */
    @Override
    List<IpPrefix> reduceRoutes(TailnetNode viewer, List<IpPrefix> routes);

    /** Whether a node owned by user {@code userId} (or an auth key of that user) may claim {@code tag}. */
    boolean userMayOwnTag(long userId, String tag);

    /** Whether a node already tagged {@code ownerTag} may claim {@code tag} (tagOwners listing a tag). */
    boolean tagMayOwnTag(String ownerTag, String tag);

    /** Whether {@code route} advertised by {@code node} is approved by autoApprovers.routes. */
    boolean autoApprovesRoute(TailnetNode node, IpPrefix route);

    /** Whether {@code node}'s exit routes are approved by autoApprovers.exitNode. */
    boolean autoApprovesExitNode(TailnetNode node);

    /** tailcfg.SSHPolicy for {@code node}, or null when the policy has no ssh rules for it. */
    JsonNode sshPolicyFor(TailnetNode node);

    /** The tag names the policy defines in tagOwners, e.g. {@code tag:server}. */
    List<String> definedTags();
}
