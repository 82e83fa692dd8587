-- system.information_schema.registered_models: the registered models the reader may see, with
-- their newest version and aliases (alias -> version).
SELECT
    c.name                                                                      AS catalog_name,
    s.name                                                                      AS schema_name,
    m.name                                                                      AS model_name,
    m.full_name                                                                 AS full_name,
    m.owner                                                                     AS owner,
    m.comment                                                                   AS comment,
    m.created_at                                                                AS created_at,
    m.created_by                                                                AS created_by,
    m.updated_at                                                                AS updated_at,
    m.updated_by                                                                AS updated_by,
    (SELECT max(v.version) FROM meta.model_versions v WHERE v.model_id = m.id)   AS latest_version,
    coalesce((SELECT map(list(a.alias ORDER BY a.alias), list(a.version ORDER BY a.alias))
              FROM meta.model_aliases a WHERE a.model_id = m.id),
             CAST(map() AS MAP(VARCHAR, INTEGER)))                              AS aliases
FROM meta.securables m
JOIN meta.securables s ON s.id = m.parent_id
JOIN meta.securables c ON c.id = s.parent_id
JOIN __visible vis ON vis.id = m.id
WHERE m.type = 'MODEL'
