-- Lineage edges as the reader may see them, in Databricks' lineage columns (table_lineage and
-- column_lineage select from here). An end is seen when the reader may see the catalog object
-- of that name, or when it is a path outside the catalog; metastore admins see every end,
-- dropped objects included. An edge shows when at least one end is seen; the other end is
-- masked (names NULL, type MASKED), so a reader learns that something they may not see feeds
-- (or is fed by) what they may see, and never its name.
WITH catalog_objects AS (  -- experiments' paths are not table names, even when they look like one
    SELECT s.id, s.full_name FROM meta.securables s JOIN __visible v ON v.id = s.id WHERE s.type <> 'EXPERIMENT'
),
seen AS (
    SELECT
        e.*,
        (reader.is_admin OR e.source_type = 'PATH' OR seen_source.id IS NOT NULL) AS source_seen,
        (reader.is_admin OR e.target_type = 'PATH' OR seen_target.id IS NOT NULL) AS target_seen
    FROM meta.lineage_edges e
    CROSS JOIN (
        SELECT count(*) > 0 AS is_admin
        FROM meta.securables m
        JOIN __principals p ON p.name = m.owner
        WHERE m.type = 'METASTORE'
    ) reader
    LEFT JOIN catalog_objects seen_source
        ON seen_source.full_name = e.source_name
    LEFT JOIN catalog_objects seen_target
        ON seen_target.full_name = e.target_name
),
named AS (
    SELECT
        *,
        CASE WHEN source_seen AND source_type <> 'PATH' THEN source_name END AS source_full_name,
        CASE WHEN target_seen AND target_type <> 'PATH' THEN target_name END AS target_full_name,
        (SELECT value FROM meta.info WHERE key = 'workspace_id')             AS workspace
    FROM seen
    WHERE source_seen OR target_seen
)
SELECT
    workspace                                                     AS account_id,
    workspace                                                     AS metastore_id,
    workspace                                                     AS workspace_id,
    entity_type,
    entity_id,
    entity_run_id,
    source_full_name                                              AS source_table_full_name,
    split_part(source_full_name, '.', 1)                          AS source_table_catalog,
    split_part(source_full_name, '.', 2)                          AS source_table_schema,
    split_part(source_full_name, '.', 3)                          AS source_table_name,
    CASE WHEN source_type = 'PATH' THEN source_name END           AS source_path,
    CASE WHEN source_seen THEN source_type ELSE 'MASKED' END      AS source_type,
    CASE WHEN source_seen THEN source_column END                  AS source_column_name,
    target_full_name                                              AS target_table_full_name,
    split_part(target_full_name, '.', 1)                          AS target_table_catalog,
    split_part(target_full_name, '.', 2)                          AS target_table_schema,
    split_part(target_full_name, '.', 3)                          AS target_table_name,
    CASE WHEN target_type = 'PATH' THEN target_name END           AS target_path,
    CASE WHEN target_seen THEN target_type ELSE 'MASKED' END      AS target_type,
    CASE WHEN target_seen THEN target_column END                  AS target_column_name,
    created_by,
    event_time,
    CAST(event_time AS DATE)                                      AS event_date,
    record_id,
    event_id,
    entity_run_id                                                 AS statement_id,
    source_column IS NOT NULL                                     AS column_level
FROM named
