-- system.information_schema.catalog_privileges: grants made on catalogs. Same visibility rule
-- as table_privileges.
SELECT
    g.grantor        AS grantor,
    g.grantee        AS grantee,
    c.name           AS catalog_name,
    g.privilege_type AS privilege_type,
    'NO'             AS is_grantable,
    g.inherited_from AS inherited_from
FROM __effective_grants g
JOIN meta.securables c ON c.id = g.securable_id
JOIN __visible v ON v.id = c.id
WHERE c.type = 'CATALOG'
  AND (v.can_manage OR g.grantee IN (SELECT name FROM __principals))
