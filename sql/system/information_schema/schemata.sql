-- system.information_schema.schemata: the schemas the reader may see.
SELECT
    c.name       AS catalog_name,
    s.name       AS schema_name,
    s.owner      AS schema_owner,
    s.comment    AS comment,
    s.created_at AS created,
    s.created_by AS created_by,
    s.updated_at AS last_altered,
    s.updated_by AS last_altered_by
FROM meta.securables s
JOIN meta.securables c ON c.id = s.parent_id
JOIN __visible v ON v.id = s.id
WHERE s.type = 'SCHEMA'
