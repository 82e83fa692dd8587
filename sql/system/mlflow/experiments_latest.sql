-- system.mlflow.experiments_latest: one row per experiment the reader may read, in Databricks'
-- columns.
SELECT
    (SELECT value FROM meta.info WHERE key = 'workspace_id')                     AS account_id,
    to_timestamp(e.last_update_time / 1000.0)                                    AS update_time,
    CASE WHEN e.lifecycle_stage = 'deleted' THEN to_timestamp(e.last_update_time / 1000.0) END AS delete_time,
    e.experiment_id,
    (SELECT value FROM meta.info WHERE key = 'workspace_id')                     AS workspace_id,
    e.name,
    to_timestamp(e.creation_time / 1000.0)                                       AS create_time
FROM __readable_experiments e
