-- Experiment tracking, in MLflow's model: experiments hold runs; a run holds params, tags, the
-- full history of its metrics, the catalog tables it read, and artifacts (files under the home,
-- artifacts/<experiment_id>/<run_id>/). Times are milliseconds since the epoch, as in MLflow.

CREATE TABLE meta.experiments (
    experiment_id     VARCHAR PRIMARY KEY,  -- a decimal string, as MLflow's ids
    name              VARCHAR NOT NULL,     -- a workspace path, e.g. /Shared/churn
    artifact_location VARCHAR NOT NULL,
    lifecycle_stage   VARCHAR NOT NULL,     -- active | deleted
    owner             VARCHAR NOT NULL,
    creation_time     BIGINT NOT NULL,
    last_update_time  BIGINT NOT NULL
);

CREATE TABLE meta.experiment_tags (
    experiment_id VARCHAR NOT NULL,
    key           VARCHAR NOT NULL,
    value         VARCHAR,
    PRIMARY KEY (experiment_id, key)
);

CREATE TABLE meta.runs (
    run_id          VARCHAR PRIMARY KEY,    -- 32 hex characters
    experiment_id   VARCHAR NOT NULL,
    run_name        VARCHAR NOT NULL,
    user_id         VARCHAR NOT NULL,       -- the principal who started it
    status          VARCHAR NOT NULL,       -- RUNNING | SCHEDULED | FINISHED | FAILED | KILLED
    start_time      BIGINT NOT NULL,
    end_time        BIGINT,
    artifact_uri    VARCHAR NOT NULL,
    lifecycle_stage VARCHAR NOT NULL,       -- active | deleted
    parent_run_id   VARCHAR                 -- nested runs
);

CREATE TABLE meta.run_params (
    run_id VARCHAR NOT NULL,
    key    VARCHAR NOT NULL,
    value  VARCHAR NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE meta.run_tags (
    run_id VARCHAR NOT NULL,
    key    VARCHAR NOT NULL,
    value  VARCHAR,
    PRIMARY KEY (run_id, key)
);

-- Every logged point, in the order logged.
CREATE TABLE meta.run_metrics (
    run_id    VARCHAR NOT NULL,
    key       VARCHAR NOT NULL,
    value     DOUBLE NOT NULL,
    timestamp BIGINT NOT NULL,
    step      BIGINT NOT NULL
);

-- The latest point of each metric (MLflow's rule: highest step, then latest timestamp), kept
-- up to date as points arrive, so that search_runs does not scan the history.
CREATE TABLE meta.run_latest_metrics (
    run_id    VARCHAR NOT NULL,
    key       VARCHAR NOT NULL,
    value     DOUBLE NOT NULL,
    timestamp BIGINT NOT NULL,
    step      BIGINT NOT NULL,
    PRIMARY KEY (run_id, key)
);

-- The catalog tables a run read (its datasets), with what identifies the data it saw.
CREATE TABLE meta.run_inputs (
    run_id      VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,           -- catalog.schema.table
    digest      VARCHAR NOT NULL,           -- content hash of the rows read
    num_rows    BIGINT,
    context     VARCHAR,                    -- training | evaluation | ...
    logged_time BIGINT NOT NULL
);
