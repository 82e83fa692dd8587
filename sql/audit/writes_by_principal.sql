-- Which writes did a principal make
--
-- Every data write :principal made on or after :since, newest first, whatever its outcome:
-- SQL (CREATE TABLE|VIEW, INSERT, UPDATE, DELETE, MERGE, TRUNCATE) and Python (create_table,
-- write_table). `written` lists the tables the write targeted (from its OpenLineage run; NULL
-- when it was refused before its target was resolved), `tables_touched` the objects it was
-- authorized against (request_params['full_name_arg']), `origin` says SQL or PYTHON, and
-- `command_text` holds the SQL (NULL for Python calls).
--
-- :principal  the user's name (carol)
-- :since      the first day to include, a date (2026-11-16)
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
  AND a.user_identity.email = lower(trim(:principal))
  AND a.event_date >= CAST(:since AS DATE)
ORDER BY a.event_time DESC
