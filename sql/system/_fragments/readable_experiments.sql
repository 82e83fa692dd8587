-- The experiments the reader may read: their owner (a user, or a group the reader is in) and
-- metastore admins. (Permission levels on experiments will widen this.)
SELECT e.*
FROM meta.experiments e
WHERE e.owner IN (SELECT name FROM __principals)
   OR EXISTS (
        SELECT 1 FROM meta.securables m JOIN __principals p ON p.name = m.owner WHERE m.type = 'METASTORE'
   )
