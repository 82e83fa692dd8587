-- Experiments become securables: each has a row in meta.securables (type EXPERIMENT, parent the
-- metastore, name and full_name its workspace path), which holds its owner and carries its
-- grants (CAN READ, CAN EDIT, CAN MANAGE) in meta.grants. This gives every experiment made
-- before this version its row, owned by the owner recorded in meta.experiments.
-- From here on the securables row is where the engine reads an experiment's owner;
-- meta.experiments.owner is kept equal to it in the same transaction (ALTER EXPERIMENT ...
-- OWNER TO writes both) for readers of the raw table.

INSERT INTO meta.securables (
    id, type, parent_id, name, full_name, owner, comment,
    created_at, created_by, updated_at, updated_by, storage_name, definition, properties
)
SELECT
    replace(CAST(gen_random_uuid() AS VARCHAR), '-', ''),
    'EXPERIMENT',
    m.id,
    e.name,
    e.name,
    e.owner,
    NULL,
    to_timestamp(e.creation_time / 1000.0),
    e.owner,
    to_timestamp(e.last_update_time / 1000.0),
    e.owner,
    NULL,
    NULL,
    NULL
FROM meta.experiments e
JOIN meta.securables m ON m.type = 'METASTORE'
WHERE NOT EXISTS (
    SELECT 1 FROM meta.securables s WHERE s.type = 'EXPERIMENT' AND s.full_name = e.name
);
