-- What feeds an object
--
-- Every table or path upstream of :name (a table, a view, or later a model), following
-- system.access.table_lineage back through every write that fed it, up to :max_depth hops.
-- Each source appears once, at its shortest distance (depth 1 feeds :name directly); `feeds`
-- names what it feeds on that shortest route. A walk never revisits a node already on its
-- route, so lineage cycles (a feeds b, b feeds a) end; :name itself is left out, and so are
-- edges with an end the reader may not see (metastore admins see every edge).
--
-- :name       the object's full name, catalog.schema.name (main.ml.churn_model)
-- :max_depth  how many hops upstream to follow at most, a positive integer (10)
WITH RECURSIVE edges AS (
    SELECT DISTINCT
        coalesce(source_table_full_name, source_path) AS source,
        source_type,
        coalesce(target_table_full_name, target_path) AS target
    FROM system.access.table_lineage
    WHERE source_type <> 'MASKED' AND target_type <> 'MASKED'
),
walk (node, node_type, fed, depth, route) AS (
    SELECT source, source_type, target, 1, array(target, source)
    FROM edges
    WHERE target = lower(trim(:name))
    UNION ALL
    SELECT e.source, e.source_type, e.target, w.depth + 1, array_append(w.route, e.source)
    FROM walk AS w
    JOIN edges AS e ON e.target = w.node
    WHERE w.depth < CAST(:max_depth AS INT)
      AND NOT array_contains(w.route, e.source)
),
shortest AS (
    SELECT node, node_type, fed, depth, min(depth) OVER (PARTITION BY node) AS best
    FROM walk
    WHERE node <> lower(trim(:name))
)
SELECT
    node                                          AS source,
    any_value(node_type)                          AS source_type,
    depth,
    array_join(array_sort(collect_set(fed)), ', ') AS feeds
FROM shortest
WHERE depth = best
GROUP BY node, depth
ORDER BY depth, source
