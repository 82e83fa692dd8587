-- system.information_schema.catalogs: the catalogs the reader may see.
SELECT
    c.name       AS catalog_name,
    c.owner      AS catalog_owner,
    c.comment    AS comment,
    c.created_at AS created,
    c.created_by AS created_by,
    c.updated_at AS last_altered,
    c.updated_by AS last_altered_by
FROM meta.securables c
JOIN __visible v ON v.id = c.id
WHERE c.type = 'CATALOG'
