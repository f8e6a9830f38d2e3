-- The buckets store (shardtally.pg.store in Python, shardtally/pg in Node): the rows of one
-- Buckets machine per schema. Days are the machine's local days (its fixed
-- utc_offset_minutes, also kept in the meta row): plain dates, never converted with the
-- session time zone. Keys sort bytewise (COLLATE "C"), as the machine orders them. Each row
-- is written from the machine's change journal; the meta row holds its clock and counters.
CREATE TABLE buckets_raw (
    day   date           NOT NULL,
    key   text COLLATE "C" NOT NULL,
    count bigint         NOT NULL CHECK (count > 0),
    PRIMARY KEY (day, key)
);
CREATE TABLE buckets_daily (
    day   date           NOT NULL,
    key   text COLLATE "C" NOT NULL,
    total bigint         NOT NULL CHECK (total > 0),
    PRIMARY KEY (day, key)
);
CREATE TABLE buckets_meta (
    id                 smallint PRIMARY KEY CHECK (id = 1),
    utc_offset_minutes integer  NOT NULL,
    meta               bytea    NOT NULL
);
