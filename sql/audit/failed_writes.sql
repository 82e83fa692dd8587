-- Failed writes
--
-- Every data write that did not succeed on or after :since, newest first: refused (403),
-- invalid (400), conflicting (409) or broken (500). Same write actions and columns as
-- writes_by_principal, plus who tried. Nothing a failed write did was kept; its lineage run
-- ended with a FAIL event.
--
-- :since  the first day to include, a date (2026-11-16)
WITH runs AS (
    SELECT
        run_id,
        any_value(entity_type)                                                                AS origin,
        nullif(any_value(array_join(json_extract_string(event, '$.outputs[*].name'), ', ')), '') AS written
    FROM system.access.lineage_events
    WHERE event_type = 'START'
    GROUP BY run_id
)
SELECT
    a.event_time,
    a.user_identity.email             AS principal,
    a.action_name,
    r.written,
    a.request_params['full_name_arg'] AS tables_touched,
    r.origin,
    a.response.status_code            AS status_code,
    a.response.error_message          AS error_message,
    a.request_params['commandText']   AS command_text
FROM system.access.audit AS a
LEFT JOIN runs AS r ON r.run_id = a.request_params['lineage_run_id']
WHERE a.action_name IN (
        'createTable', 'createView', 'insertInto', 'updateTable', 'deleteFrom', 'mergeInto',
        'truncateTable', 'writeTable'
      )
  AND a.response.status_code <> 200
  AND a.event_date >= CAST(:since AS DATE)
ORDER BY a.event_time DESC
