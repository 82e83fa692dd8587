-- system.access.table_lineage: one row per source -> target table edge of every write the
-- catalog recorded or received. Columns follow Databricks' system.access.table_lineage;
-- entity_type says where the write came from (SQL, PYTHON, EXTERNAL for ingested events),
-- entity_id names its OpenLineage job and entity_run_id its run.
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
    CASE WHEN target_seen AND target_type <> 'PATH' THEN target_name END                 AS target_table_full_name,
    CASE WHEN target_seen AND target_type <> 'PATH' THEN split_part(target_name, '.', 1) END AS target_table_catalog,
    CASE WHEN target_seen AND target_type <> 'PATH' THEN split_part(target_name, '.', 2) END AS target_table_schema,
    CASE WHEN target_seen AND target_type <> 'PATH' THEN split_part(target_name, '.', 3) END AS target_table_name,
    CASE WHEN target_type = 'PATH' THEN target_name END                                  AS target_path,
    CASE WHEN target_seen THEN target_type ELSE 'MASKED' END                             AS target_type,
    created_by,
    event_time,
    CAST(event_time AS DATE)                                                  AS event_date,
    record_id,
    event_id,
    entity_run_id                                                             AS statement_id
FROM __lineage_edges
WHERE source_column IS NULL AND (source_seen OR target_seen)
