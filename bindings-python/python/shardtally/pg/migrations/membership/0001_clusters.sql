-- Membership (the PostgreSQL registrar): one row per cluster.
--
-- `state` is the cluster's Membership snapshot (snapshot_cluster / snapshotCluster bytes;
-- NULL before the first input). A registrar reads it FOR UPDATE, restores a machine from it,
-- applies one input with the database clock as `now`, writes it back and NOTIFYs the outputs,
-- all in one transaction. The other columns are a copy for people and monitoring, written
-- with it; nothing reads them back.
CREATE TABLE membership_clusters (
    cluster          text        PRIMARY KEY,
    state            bytea,
    epoch            bigint      NOT NULL DEFAULT 0,
    num_shards       integer     NOT NULL DEFAULT 0,
    holders          integer     NOT NULL DEFAULT 0,
    next_deadline_ms bigint,
    updated_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);

COMMENT ON TABLE membership_clusters IS
    'shardtally membership: one row per cluster; state is the engine snapshot of the cluster';
COMMENT ON COLUMN membership_clusters.next_deadline_ms IS
    'earliest deadline of the cluster (a holder expiry or an allowed reshard), ms on the database clock';
