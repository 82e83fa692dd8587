-- system.mlflow.run_metrics_history: every metric point of the runs the reader may read.
SELECT
    (SELECT value FROM meta.info WHERE key = 'workspace_id')                     AS account_id,
    to_timestamp(h.timestamp / 1000.0)                                           AS insert_time,
    md5(h.run_id || h.key || h.step || h.timestamp || h.value)                   AS record_id,
    (SELECT value FROM meta.info WHERE key = 'workspace_id')                     AS workspace_id,
    r.experiment_id,
    h.run_id,
    h.key                                                                        AS metric_name,
    to_timestamp(h.timestamp / 1000.0)                                           AS metric_time,
    h.step                                                                       AS metric_step,
    h.value                                                                      AS metric_value
FROM meta.run_metrics h
JOIN meta.runs r ON r.run_id = h.run_id
WHERE r.experiment_id IN (SELECT experiment_id FROM __readable_experiments)
