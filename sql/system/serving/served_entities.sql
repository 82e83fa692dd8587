-- system.serving.served_entities: every served entity of every configuration of the endpoints
-- the reader may see (Databricks' column names), one row per entity per configuration, so the
-- history of config changes stays queryable. state: ACTIVE (in the configuration serving now),
-- REPLACED (a later configuration took over) or DELETED (the endpoint is gone). Rows of deleted
-- endpoints are shown to metastore admins only.
SELECT
    se.served_entity_id                                                AS served_entity_id,
    se.created_by                                                      AS created_by,
    se.endpoint_name                                                   AS endpoint_name,
    se.endpoint_id                                                     AS endpoint_id,
    se.served_entity_name                                              AS served_entity_name,
    se.entity_type                                                     AS entity_type,
    se.entity_name                                                     AS entity_name,
    se.entity_version                                                  AS entity_version,
    se.endpoint_config_version                                         AS endpoint_config_version,
    se.traffic_percentage                                              AS traffic_percentage,
    se.scale_to_zero_enabled                                           AS scale_to_zero_enabled,
    se.workload_size                                                   AS workload_size,
    se.config                                                          AS custom_model_config,
    se.change_time                                                     AS change_time,
    se.endpoint_delete_time                                            AS endpoint_delete_time,
    CASE
        WHEN se.endpoint_delete_time IS NOT NULL THEN 'DELETED'
        WHEN ep.config_version = se.endpoint_config_version THEN 'ACTIVE'
        ELSE 'REPLACED'
    END                                                                AS state
FROM meta.served_entities se
LEFT JOIN meta.serving_endpoints ep ON ep.endpoint_id = se.endpoint_id
WHERE se.endpoint_id IN (SELECT id FROM __visible)
   OR (se.endpoint_delete_time IS NOT NULL AND EXISTS (
        SELECT 1 FROM __visible v JOIN meta.securables m ON m.id = v.id
        WHERE m.type = 'METASTORE' AND v.can_manage))
