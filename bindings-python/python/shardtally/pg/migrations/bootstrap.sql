-- The migration ledger of a shardtally schema. Run by the migration runner of both packages
-- (shardtally.pg in Python, shardtally/pg in Node) before every run, inside its transaction,
-- under its advisory lock and with search_path set to the schema. Each component
-- (membership, ...) applies the files of migrations/<component>/ in version order, once;
-- the ledger keeps each file's SHA-256, and a changed file is an error.
CREATE TABLE IF NOT EXISTS shardtally_migrations (
    component  text        NOT NULL,
    version    integer     NOT NULL,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (component, version)
);
