-- Lineage edges as the reader may see them. An end is seen when the reader may see the catalog
-- object of that name, or when it is a path outside the catalog; metastore admins see every end,
-- dropped objects included. System tables show an edge when at least one end is seen and mask
-- the other end (names NULL, type MASKED), so that a reader learns that something they may not
-- see feeds (or is fed by) what they may see, and never its name.
SELECT
    e.*,
    (reader.is_admin OR e.source_type = 'PATH' OR seen_source.id IS NOT NULL) AS source_seen,
    (reader.is_admin OR e.target_type = 'PATH' OR seen_target.id IS NOT NULL) AS target_seen,
    (SELECT value FROM meta.info WHERE key = 'workspace_id')                  AS workspace_id
FROM meta.lineage_edges e
CROSS JOIN (
    SELECT count(*) > 0 AS is_admin
    FROM meta.securables m
    JOIN __principals p ON p.name = m.owner
    WHERE m.type = 'METASTORE'
) reader
LEFT JOIN (SELECT s.id, s.full_name FROM meta.securables s JOIN __visible v ON v.id = s.id) seen_source
    ON seen_source.full_name = e.source_name
LEFT JOIN (SELECT s.id, s.full_name FROM meta.securables s JOIN __visible v ON v.id = s.id) seen_target
    ON seen_target.full_name = e.target_name
