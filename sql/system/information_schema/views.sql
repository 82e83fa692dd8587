-- system.information_schema.views: view definitions the reader may see.
SELECT
    c.name         AS table_catalog,
    s.name         AS table_schema,
    t.name         AS table_name,
    t.definition   AS view_definition,
    'NO'           AS is_updatable,
    'NO'           AS is_insertable_into
FROM meta.securables t
JOIN meta.securables s ON s.id = t.parent_id
JOIN meta.securables c ON c.id = s.parent_id
JOIN __visible v ON v.id = t.id
WHERE t.type = 'VIEW' AND t.definition IS NOT NULL
