-- Lineage: every OpenLineage event the catalog recorded or received, and the edges read from them.

-- Each event whole, as OpenLineage JSON (START, COMPLETE, FAIL, ...).
CREATE TABLE meta.lineage_events (
    event_id      VARCHAR NOT NULL,
    run_id        VARCHAR NOT NULL,
    event_type    VARCHAR NOT NULL,
    event_time    TIMESTAMPTZ NOT NULL,
    job_namespace VARCHAR NOT NULL,
    job_name      VARCHAR NOT NULL,
    entity_type   VARCHAR NOT NULL,       -- SQL | PYTHON | EXTERNAL | ...: where the write came from
    created_by    VARCHAR NOT NULL,       -- the principal
    event         JSON NOT NULL
);

-- One row per source -> target edge of a completed run: table level when the column names are
-- NULL, column level otherwise. Catalog objects are named catalog.schema.name; other datasets
-- by their OpenLineage namespace and name, joined with '/' (e.g. s3://bucket/path).
CREATE TABLE meta.lineage_edges (
    record_id     VARCHAR NOT NULL,
    event_id      VARCHAR NOT NULL,
    entity_type   VARCHAR NOT NULL,
    entity_id     VARCHAR NOT NULL,       -- the job name
    entity_run_id VARCHAR NOT NULL,       -- the OpenLineage run id
    source_name   VARCHAR NOT NULL,
    source_type   VARCHAR NOT NULL,       -- TABLE | VIEW | PATH | ...
    source_column VARCHAR,
    target_name   VARCHAR NOT NULL,
    target_type   VARCHAR NOT NULL,
    target_column VARCHAR,
    created_by    VARCHAR NOT NULL,
    event_time    TIMESTAMPTZ NOT NULL
);

-- The distinct table-level links, which graph walks follow (one per pair, however many runs).
CREATE TABLE meta.lineage_links (
    source_name VARCHAR NOT NULL,
    target_name VARCHAR NOT NULL,
    PRIMARY KEY (target_name, source_name)
);
CREATE INDEX lineage_links_by_source ON meta.lineage_links (source_name);
