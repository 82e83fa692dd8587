-- Primary keys of tables, as Unity Catalog declares them (CONSTRAINT name PRIMARY KEY (...)).
-- A feature table is a table with a primary key; its timestamp keys are the key columns marked
-- TIMESERIES. The physical DuckDB table carries the same PRIMARY KEY, so every write path
-- (Python and SQL) is refused when it would break the key.
CREATE TABLE meta.primary_keys (
    securable_id     VARCHAR NOT NULL,
    constraint_name  VARCHAR NOT NULL,
    column_name      VARCHAR NOT NULL,
    ordinal_position INTEGER NOT NULL,        -- 1-based, in the key
    timeseries       BOOLEAN NOT NULL,        -- a timestamp key of a feature table
    PRIMARY KEY (securable_id, column_name)
);
