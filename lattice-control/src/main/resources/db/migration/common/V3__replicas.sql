-- Several lattice-control replicas on one PostgreSQL database. SQLite (one server per file) creates the tables too
-- but never writes them.

-- The server's own private keys (the ts2021 Noise key, the embedded DERP key), so that every replica presents the
-- same identity. Written once by whichever replica starts first (INSERT ... ON CONFLICT DO NOTHING).
CREATE TABLE server_keys (
    name        TEXT    NOT NULL PRIMARY KEY,
    private_key TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- The change log: a row per tailnet write, appended in the transaction of the write, numbered in commit order
-- (writers take an advisory lock just before appending, held to commit), read by the other replicas to refresh
-- their in-memory tailnet. kind: node (node_id's row changed or went), users, policy.
CREATE TABLE changes (
    seq         ${id_pk},
    replica     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    node_id     BIGINT,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX changes_created_at ON changes (created_at);
