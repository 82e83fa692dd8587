-- system.access.lineage_events: every OpenLineage event the catalog recorded or received, whole
-- (the `event` column is the event's JSON: query it with ->, ->> and json_extract). Metastore
-- admins see every event; others see the events of their own writes.
SELECT
    e.event_id,
    e.run_id,
    e.event_type,
    e.event_time,
    CAST(e.event_time AS DATE) AS event_date,
    e.job_namespace,
    e.job_name,
    e.entity_type,
    e.created_by,
    e.event
FROM meta.lineage_events e
WHERE e.created_by IN (SELECT name FROM __principals)
   OR EXISTS (
        SELECT 1 FROM meta.securables m JOIN __principals p ON p.name = m.owner WHERE m.type = 'METASTORE'
   )
