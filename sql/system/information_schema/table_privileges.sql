-- system.information_schema.table_privileges: grants that reach tables and views, including
-- those inherited from their schema or catalog. A reader sees the grants on objects they may
-- manage, and the grants made to themselves or their groups.
SELECT
    g.grantor        AS grantor,
    g.grantee        AS grantee,
    c.name           AS table_catalog,
    s.name           AS table_schema,
    t.name           AS table_name,
    g.privilege_type AS privilege_type,
    'NO'             AS is_grantable,
    g.inherited_from AS inherited_from
FROM __effective_grants g
JOIN meta.securables t ON t.id = g.securable_id
JOIN meta.securables s ON s.id = t.parent_id
JOIN meta.securables c ON c.id = s.parent_id
JOIN __visible v ON v.id = t.id
WHERE t.type IN ('TABLE', 'VIEW')
  AND (v.can_manage OR g.grantee IN (SELECT name FROM __principals))
