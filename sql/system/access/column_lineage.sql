-- system.access.column_lineage: one row per source column -> target column edge of every SQL
-- write the catalog recorded, and of ingested events that carry the column lineage facet.
-- The columns of table_lineage plus source_column_name and target_column_name, as in Databricks.
SELECT * EXCLUDE (column_level)
FROM __lineage_edges
WHERE column_level
