-- system.information_schema.tables: the tables and views the reader may see.
SELECT
    c.name                                                        AS table_catalog,
    s.name                                                        AS table_schema,
    t.name                                                        AS table_name,
    CASE WHEN t.type = 'VIEW' THEN 'VIEW' ELSE 'MANAGED' END      AS table_type,
    CASE WHEN t.type = 'TABLE' THEN 'YES' ELSE 'NO' END           AS is_insertable_into,
    'PRESERVE'                                                    AS commit_action,
    t.owner                                                       AS table_owner,
    t.comment                                                     AS comment,
    t.created_at                                                  AS created,
    t.created_by                                                  AS created_by,
    t.updated_at                                                  AS last_altered,
    t.updated_by                                                  AS last_altered_by,
    CASE WHEN t.type = 'TABLE' THEN 'DUCKDB' END                  AS data_source_format
FROM meta.securables t
JOIN meta.securables s ON s.id = t.parent_id
JOIN meta.securables c ON c.id = s.parent_id
JOIN __visible v ON v.id = t.id
WHERE t.type IN ('TABLE', 'VIEW')
