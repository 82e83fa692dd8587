-- system.information_schema.key_column_usage: the columns of each primary key, in key order
-- (a feature table's timestamp keys come last).
SELECT
    c.name                                                        AS constraint_catalog,
    s.name                                                        AS constraint_schema,
    k.constraint_name                                             AS constraint_name,
    c.name                                                        AS table_catalog,
    s.name                                                        AS table_schema,
    t.name                                                        AS table_name,
    k.column_name                                                 AS column_name,
    k.ordinal_position                                            AS ordinal_position,
    CAST(NULL AS INTEGER)                                         AS position_in_unique_constraint
FROM meta.primary_keys k
JOIN meta.securables t ON t.id = k.securable_id
JOIN meta.securables s ON s.id = t.parent_id
JOIN meta.securables c ON c.id = s.parent_id
JOIN __visible v ON v.id = t.id
