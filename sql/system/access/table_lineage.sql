-- system.access.table_lineage: one row per source -> target table edge of every write the
-- catalog recorded or received, in Databricks' columns (see _fragments/lineage_edges.sql for
-- them and for how an end the reader may not see is masked). entity_type says where the write
-- came from (SQL, PYTHON, EXTERNAL for ingested events), entity_id names its OpenLineage job
-- and entity_run_id its run.
SELECT * EXCLUDE (source_column_name, target_column_name, column_level)
FROM __lineage_edges
WHERE NOT column_level
