-- Online status and interactive registrations across the replicas of one PostgreSQL database. SQLite (one server
-- per file) creates the tables too but never writes them.

-- Each replica's heartbeat, in the database's clock (epoch milliseconds), one writer per replica every 2 s. Two
-- lapses read it: a replica not heard from for 8 s leaves the DERP region (clients stop dialling a dead server
-- quickly), one not heard from for 20 s is taken for dead and its sessions for gone (a replica stalled for a few
-- seconds does not flap every node it holds offline).
-- derp_url, derp_node: its embedded DERP server (derp.server.url, and its tailcfg.DERPNode as JSON), or null when
-- it has none; the live rows with one are the DERP region's nodes, and each replica meshes with the others.
CREATE TABLE replicas (
    id           TEXT    NOT NULL PRIMARY KEY,
    heartbeat_at BIGINT  NOT NULL,
    derp_url     TEXT,
    derp_node    TEXT
);

-- The nodes streaming to each replica: a row while the node holds at least one map stream there. since: when the
-- node's online period began (carried over when it moves to another replica while still online), which orders HA
-- route primaries the same way on every replica. Written on a change only, in batches, never per map poll.
CREATE TABLE sessions (
    node_id  BIGINT  NOT NULL,
    replica  TEXT    NOT NULL,
    since    BIGINT  NOT NULL,
    PRIMARY KEY (node_id, replica)
);
CREATE INDEX sessions_replica ON sessions (replica);

-- Interactive registrations waiting for an admin or a login: the client may wait on one replica while the admin's
-- `nodes register` or the OIDC callback is served by another. completed_at is set once, with node_id (registered)
-- or error (refused, rejected).
CREATE TABLE pending_registrations (
    auth_id      TEXT    NOT NULL PRIMARY KEY,
    machine_key  TEXT    NOT NULL,
    request      TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    completed_at BIGINT,
    node_id      BIGINT,
    error        TEXT
);

-- An OIDC login between the browser's pages, so that a balancer without stickiness may send each page to another
-- replica: step 'started' (key: the state; from /register/ID to the callback) and 'confirming' (key: the auth id;
-- from the callback to the confirmation button). Each is taken once, and is good for 15 minutes.
CREATE TABLE oidc_logins (
    step        TEXT    NOT NULL,
    login_key   TEXT    NOT NULL,
    login_value TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (step, login_key)
);
