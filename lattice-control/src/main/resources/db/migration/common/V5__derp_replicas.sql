-- The embedded DERP servers of the replicas on one PostgreSQL database (SQLite creates the table and never writes
-- it). Each replica upserts its row every few seconds; the rows with a recent heartbeat are the DERP region's nodes,
-- and each replica meshes with the others. url: where clients and replicas reach that DERP server (derp.server.url);
-- node: its tailcfg.DERPNode as JSON; heartbeat_at: the database's clock, in milliseconds since the epoch.
CREATE TABLE derp_replicas (
    url          TEXT    NOT NULL PRIMARY KEY,
    replica      TEXT    NOT NULL,
    node         TEXT    NOT NULL,
    heartbeat_at BIGINT  NOT NULL
);
