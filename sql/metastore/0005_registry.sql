-- The model registry. A registered model is a securable of type MODEL in meta.securables
-- (catalog.schema.model: owner, comment as its description, grants). Its versions, aliases and
-- tags live here. Each version's files are a copy of the logged model taken at registration,
-- under the home at models/<model securable id>/<version>/, so a version never changes even if
-- the run's artifacts do. Times are milliseconds since the epoch, as in MLflow.

CREATE TABLE meta.model_versions (
    model_id               VARCHAR NOT NULL,   -- securable id of the registered model
    version                INTEGER NOT NULL,   -- 1, 2, 3 ... per model, never reused
    source                 VARCHAR NOT NULL,   -- the URI it was registered from (runs:/<id>/model)
    run_id                 VARCHAR,            -- the run that logged it, when there is one
    storage_location       VARCHAR NOT NULL,   -- the version's directory, relative to the home
    digest                 VARCHAR NOT NULL,   -- sha256 of its MLmodel descriptor, checked on load
    status                 VARCHAR NOT NULL,   -- READY
    current_stage          VARCHAR NOT NULL,   -- None | Staging | Production | Archived (legacy)
    description            VARCHAR,
    created_by             VARCHAR NOT NULL,
    creation_timestamp     BIGINT NOT NULL,
    last_updated_by        VARCHAR NOT NULL,
    last_updated_timestamp BIGINT NOT NULL,
    PRIMARY KEY (model_id, version)
);

-- The next version number of each model: versions stay contiguous and are never reused, even
-- after a version is deleted (as MLflow).
CREATE TABLE meta.model_version_counters (
    model_id     VARCHAR PRIMARY KEY,
    last_version INTEGER NOT NULL
);

CREATE TABLE meta.model_aliases (
    model_id VARCHAR NOT NULL,
    alias    VARCHAR NOT NULL,                 -- lower-case, e.g. champion
    version  INTEGER NOT NULL,
    PRIMARY KEY (model_id, alias)
);

CREATE TABLE meta.registered_model_tags (
    model_id VARCHAR NOT NULL,
    key      VARCHAR NOT NULL,
    value    VARCHAR,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE meta.model_version_tags (
    model_id VARCHAR NOT NULL,
    version  INTEGER NOT NULL,
    key      VARCHAR NOT NULL,
    value    VARCHAR,
    PRIMARY KEY (model_id, version, key)
);
