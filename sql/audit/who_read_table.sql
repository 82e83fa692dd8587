-- Who read a table
--
-- Every principal who read :table_name on or after :since, with how many reads and when.
-- A read is a successful SELECT (executeQuery) or Python read_table (readTable) whose audit
-- record names the table in request_params['full_name_arg']; reading a view counts as reading
-- the tables the view reads. Refused reads are left out (see denied_by_principal).
--
-- :table_name  the table's full name, catalog.schema.table (main.ml.churn_features)
-- :since       the first day to include, a date (2026-11-16)
SELECT
    user_identity.email                                  AS principal,
    count(*)                                             AS reads,
    min(event_time)                                      AS first_read,
    max(event_time)                                      AS last_read,
    array_join(array_sort(collect_set(action_name)), ', ') AS actions
FROM system.access.audit
WHERE action_name IN ('executeQuery', 'readTable')
  AND response.status_code = 200
  AND event_date >= CAST(:since AS DATE)
  AND array_contains(
        transform(split(request_params['full_name_arg'], ','), part -> trim(part)),
        lower(trim(:table_name))
      )
GROUP BY user_identity.email
ORDER BY reads DESC, principal
