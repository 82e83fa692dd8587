-- Every grant with each securable it reaches: the object it was made on (inherited_from NONE),
-- or a descendant whose type the privilege applies to (inherited_from names the container type).
WITH RECURSIVE ancestry(id, ancestor_id) AS (
    SELECT id, id FROM meta.securables
    UNION ALL
    SELECT a.id, s.parent_id
    FROM ancestry a JOIN meta.securables s ON s.id = a.ancestor_id
    WHERE s.parent_id IS NOT NULL
)
SELECT
    o.id                                                   AS securable_id,
    g.granted_by                                           AS grantor,
    g.principal                                            AS grantee,
    g.privilege                                            AS privilege_type,
    CASE WHEN h.id = o.id THEN 'NONE' ELSE h.type END      AS inherited_from
FROM ancestry a
JOIN meta.securables o ON o.id = a.id
JOIN meta.securables h ON h.id = a.ancestor_id
JOIN meta.grants g ON g.securable_id = h.id
JOIN __grantable p ON p.securable_type = o.type AND p.privilege = g.privilege
