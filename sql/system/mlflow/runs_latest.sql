-- system.mlflow.runs_latest: one row per run of an experiment the reader may read, with its
-- params and tags as maps and, per metric, the latest, lowest and highest values.
WITH stats AS (
    SELECT h.run_id, h.key, min(h.value) AS min_value, max(h.value) AS max_value
    FROM meta.run_metrics h
    GROUP BY h.run_id, h.key
)
SELECT
    (SELECT value FROM meta.info WHERE key = 'workspace_id')                     AS account_id,
    to_timestamp(coalesce(r.end_time, r.start_time) / 1000.0)                    AS update_time,
    CAST(NULL AS TIMESTAMPTZ)                                                    AS delete_time,
    (SELECT value FROM meta.info WHERE key = 'workspace_id')                     AS workspace_id,
    r.run_id,
    r.experiment_id,
    r.user_id                                                                    AS created_by,
    to_timestamp(r.start_time / 1000.0)                                          AS start_time,
    to_timestamp(r.end_time / 1000.0)                                            AS end_time,
    r.run_name,
    r.status,
    coalesce((SELECT map(list(p.key), list(p.value)) FROM meta.run_params p WHERE p.run_id = r.run_id),
             CAST(map() AS MAP(VARCHAR, VARCHAR)))                               AS params,
    coalesce((SELECT map(list(t.key), list(t.value)) FROM meta.run_tags t WHERE t.run_id = r.run_id),
             CAST(map() AS MAP(VARCHAR, VARCHAR)))                               AS tags,
    coalesce((
        SELECT list({'metric_name': l.key, 'latest_value': l.value, 'max_value': s.max_value,
                     'min_value': s.min_value} ORDER BY l.key)
        FROM meta.run_latest_metrics l JOIN stats s ON s.run_id = l.run_id AND s.key = l.key
        WHERE l.run_id = r.run_id
    ), [])                                                                       AS aggregated_metrics
FROM meta.runs r
WHERE r.lifecycle_stage = 'active'
  AND r.experiment_id IN (SELECT experiment_id FROM __readable_experiments)
