-- system.information_schema.schema_privileges: grants that reach schemas, including those
-- inherited from their catalog. Same visibility rule as table_privileges.
SELECT
    g.grantor        AS grantor,
    g.grantee        AS grantee,
    c.name           AS catalog_name,
    s.name           AS schema_name,
    g.privilege_type AS privilege_type,
    'NO'             AS is_grantable,
    g.inherited_from AS inherited_from
FROM __effective_grants g
JOIN meta.securables s ON s.id = g.securable_id
JOIN meta.securables c ON c.id = s.parent_id
JOIN __visible v ON v.id = s.id
WHERE s.type = 'SCHEMA'
  AND (v.can_manage OR g.grantee IN (SELECT name FROM __principals))
