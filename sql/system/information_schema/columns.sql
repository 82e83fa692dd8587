-- system.information_schema.columns: columns of the tables and views the reader may see.
SELECT
    c.name                                        AS table_catalog,
    s.name                                        AS table_schema,
    t.name                                        AS table_name,
    col.name                                      AS column_name,
    col.position                                  AS ordinal_position,
    CAST(NULL AS VARCHAR)                         AS column_default,
    CASE WHEN col.nullable THEN 'YES' ELSE 'NO' END AS is_nullable,
    lower(col.data_type)                          AS full_data_type,
    regexp_replace(col.data_type, '[<(].*$', '')  AS data_type,
    col.comment                                   AS comment
FROM meta.columns col
JOIN meta.securables t ON t.id = col.securable_id
JOIN meta.securables s ON s.id = t.parent_id
JOIN meta.securables c ON c.id = s.parent_id
JOIN __visible v ON v.id = t.id
