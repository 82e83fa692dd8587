-- system.serving.endpoint_usage: one row per request to the endpoints the reader may see
-- (Databricks' column names, plus the served entity's name, the outcome and the latency).
-- Requests, errors and latency percentiles per served entity:
--   SELECT served_entity_name, count(*) AS requests,
--          count(*) FILTER (WHERE status_code >= 400) AS errors,
--          quantile_cont(execution_duration_ms, 0.99) AS p99_ms
--   FROM system.serving.endpoint_usage WHERE endpoint_name = 'main.ml.churn_endpoint'
--   GROUP BY served_entity_name
SELECT
    r.databricks_request_id                                            AS databricks_request_id,
    r.client_request_id                                                AS client_request_id,
    r.endpoint_id                                                      AS endpoint_id,
    r.endpoint_name                                                    AS endpoint_name,
    r.served_entity_id                                                 AS served_entity_id,
    r.served_entity_name                                               AS served_entity_name,
    r.requester                                                        AS requester,
    r.status_code                                                      AS status_code,
    r.error_code                                                       AS error_code,
    r.request_time                                                     AS request_time,
    r.execution_duration_ms                                            AS execution_duration_ms,
    r.input_rows                                                       AS input_rows
FROM meta.serving_requests r
WHERE r.endpoint_id IN (SELECT id FROM __visible)
