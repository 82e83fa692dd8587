-- system.information_schema.model_versions: every version of the registered models the reader
-- may see: where it came from (source URI, run), its state, aliases and descriptor digest.
SELECT
    c.name                                                                      AS catalog_name,
    s.name                                                                      AS schema_name,
    m.name                                                                      AS model_name,
    m.full_name                                                                 AS full_name,
    v.version                                                                   AS version,
    v.source                                                                    AS source,
    v.run_id                                                                    AS run_id,
    v.status                                                                    AS status,
    v.current_stage                                                             AS current_stage,
    v.description                                                               AS comment,
    coalesce((SELECT list(a.alias ORDER BY a.alias) FROM meta.model_aliases a
              WHERE a.model_id = v.model_id AND a.version = v.version), [])      AS aliases,
    v.digest                                                                    AS model_digest,
    to_timestamp(v.creation_timestamp / 1000.0)                                 AS created_at,
    v.created_by                                                                AS created_by,
    to_timestamp(v.last_updated_timestamp / 1000.0)                             AS updated_at,
    v.last_updated_by                                                           AS updated_by
FROM meta.model_versions v
JOIN meta.securables m ON m.id = v.model_id
JOIN meta.securables s ON s.id = m.parent_id
JOIN meta.securables c ON c.id = s.parent_id
JOIN __visible vis ON vis.id = m.id
