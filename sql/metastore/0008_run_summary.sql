-- Each run's row carries its data as one JSON document, meta.runs.data:
--
--     {"r": [run_id, run_name, experiment_id, user_id, status, start_time, end_time,
--            artifact_uri, lifecycle_stage],
--      "m": {metric: latest value}, "p": {param: value}, "t": {tag: value},
--      "i": [{"name", "digest", "num_rows", "context"}, ... in the order logged]}
--
-- search_runs filters, orders and returns a page of whole runs from meta.runs alone, in one
-- query reading one text per run, instead of joining a table per key and then reading the
-- page's data from four more tables. JSON text rather than MAP columns: DuckDB rewrites a
-- whole row to update a nested column, while a VARCHAR is updated in place
-- (json_merge_patch), about as cheaply as a number.
--
-- The document is a copy. The run's columns and meta.run_params, meta.run_tags,
-- meta.run_latest_metrics and meta.run_inputs stay the record (the system tables and the
-- latest-point rule read them); every write to them patches the run's document in the same
-- transaction (catalog/tracking/store.py). This fills the documents of runs made before this
-- version.

ALTER TABLE meta.runs ADD COLUMN data VARCHAR NOT NULL DEFAULT '{}';  -- every row gets its document below

UPDATE meta.runs AS r SET data = to_json(struct_pack(
    r := json_array(
        o.run_id, o.run_name, o.experiment_id, o.user_id, o.status, o.start_time, o.end_time, o.artifact_uri,
        o.lifecycle_stage
    ),
    m := coalesce(m.data, MAP {}::MAP(VARCHAR, DOUBLE)),
    p := coalesce(p.data, MAP {}::MAP(VARCHAR, VARCHAR)),
    t := coalesce(t.data, MAP {}::MAP(VARCHAR, VARCHAR)),
    i := coalesce(i.data, [])
))::VARCHAR
FROM meta.runs AS o
LEFT JOIN (SELECT run_id, map(list(key), list(value)) AS data FROM meta.run_latest_metrics GROUP BY run_id) AS m
    ON m.run_id = o.run_id
LEFT JOIN (SELECT run_id, map(list(key), list(value)) AS data FROM meta.run_params GROUP BY run_id) AS p
    ON p.run_id = o.run_id
LEFT JOIN (SELECT run_id, map(list(key), list(value)) AS data FROM meta.run_tags GROUP BY run_id) AS t
    ON t.run_id = o.run_id
LEFT JOIN (
    -- ties in logged_time keep the order the rows were written in
    SELECT run_id, list(struct_pack(name, digest, num_rows, context) ORDER BY logged_time, rowid) AS data
    FROM meta.run_inputs GROUP BY run_id
) AS i ON i.run_id = o.run_id
WHERE o.run_id = r.run_id;
