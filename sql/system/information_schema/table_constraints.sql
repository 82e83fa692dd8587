-- system.information_schema.table_constraints: the primary keys of the tables the reader may
-- see (feature tables have one). Unlike Databricks' informational constraints, the catalog
-- enforces them: a write that would break the key is refused.
SELECT DISTINCT
    c.name                                                        AS constraint_catalog,
    s.name                                                        AS constraint_schema,
    k.constraint_name                                             AS constraint_name,
    c.name                                                        AS table_catalog,
    s.name                                                        AS table_schema,
    t.name                                                        AS table_name,
    'PRIMARY KEY'                                                 AS constraint_type,
    'NO'                                                          AS is_deferrable,
    'NO'                                                          AS initially_deferred,
    'YES'                                                         AS enforced,
    CAST(NULL AS VARCHAR)                                         AS comment
FROM meta.primary_keys k
JOIN meta.securables t ON t.id = k.securable_id
JOIN meta.securables s ON s.id = t.parent_id
JOIN meta.securables c ON c.id = s.parent_id
JOIN __visible v ON v.id = t.id
