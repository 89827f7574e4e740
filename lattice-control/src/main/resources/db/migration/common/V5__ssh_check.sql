-- Tailscale SSH "check" rules: the destination node asks /machine/ssh/action whether to let a connection in, and the
-- owner of the source node proves it is them (an OIDC login, or an admin's `auth approve`). In the database, not in
-- memory, because the waiting request, the browser and the admin may each reach another replica.

-- One check waiting for its verdict, bound to the (source, destination) pair it was made for. verdict: null while
-- waiting, 1 accepted, 0 rejected; set once. Rows older than 15 minutes are pruned.
CREATE TABLE ssh_checks (
    auth_id     TEXT    NOT NULL PRIMARY KEY,
    src_node    BIGINT  NOT NULL,
    dst_node    BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    verdict     INTEGER,
    decided_at  BIGINT,
    decided_by  TEXT
);

-- When the source's owner last passed a check for the pair: within the rule's checkPeriod the next connection is let
-- in without asking again.
CREATE TABLE ssh_check_passes (
    src_node   BIGINT  NOT NULL,
    dst_node   BIGINT  NOT NULL,
    passed_at  BIGINT  NOT NULL,
    PRIMARY KEY (src_node, dst_node)
);
