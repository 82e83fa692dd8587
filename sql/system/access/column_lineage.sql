-- system.access.column_lineage: one row per source column -> target column edge of every SQL
-- write the catalog recorded (and of ingested events that carry the column lineage facet).
-- Columns follow Databricks' system.access.column_lineage; masking as in table_lineage.
SELECT
    workspace_id                                                              AS account_id,
    workspace_id                                                              AS metastore_id,
    workspace_id,
    entity_type,
    entity_id,
    entity_run_id,
    CASE WHEN source_seen AND source_type <> 'PATH' THEN source_name END                 AS source_table_full_name,
    CASE WHEN source_seen AND source_type <> 'PATH' THEN split_part(source_name, '.', 1) END AS source_table_catalog,
    CASE WHEN source_seen AND source_type <> 'PATH' THEN split_part(source_name, '.', 2) END AS source_table_schema,
    CASE WHEN source_seen AND source_type <> 'PATH' THEN split_part(source_name, '.', 3) END AS source_table_name,
    CASE WHEN source_type = 'PATH' THEN source_name END                                  AS source_path,
    CASE WHEN source_seen THEN source_type ELSE 'MASKED' END                             AS source_type,
    CASE WHEN source_seen THEN source_column END                                         AS source_column_name,
    CASE WHEN target_seen AND target_type <> 'PATH' THEN target_name END                 AS target_table_full_name,
    CASE WHEN target_seen AND target_type <> 'PATH' THEN split_part(target_name, '.', 1) END AS target_table_catalog,
    CASE WHEN target_seen AND target_type <> 'PATH' THEN split_part(target_name, '.', 2) END AS target_table_schema,
    CASE WHEN target_seen AND target_type <> 'PATH' THEN split_part(target_name, '.', 3) END AS target_table_name,
    CASE WHEN target_type = 'PATH' THEN target_name END                                  AS target_path,
    CASE WHEN target_seen THEN target_type ELSE 'MASKED' END                             AS target_type,
    CASE WHEN target_seen THEN target_column END                                         AS target_column_name,
    created_by,
    event_time,
    CAST(event_time AS DATE)                                                  AS event_date,
    record_id,
    event_id,
    entity_run_id                                                             AS statement_id
FROM __lineage_edges
WHERE source_column IS NOT NULL AND (source_seen OR target_seen)
