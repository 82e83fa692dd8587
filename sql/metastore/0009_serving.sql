-- Model serving endpoints. An endpoint is a securable of type ENDPOINT in meta.securables
-- (catalog.schema.endpoint: owner, grants); its configuration lives here.

-- The configuration each endpoint serves now, in Databricks' JSON (served entities with their
-- names filled in, traffic routes, auto capture). config_version goes up with every update.
CREATE TABLE meta.serving_endpoints (
    endpoint_id     VARCHAR PRIMARY KEY,       -- securable id of the endpoint
    config_version  INTEGER NOT NULL,
    config          VARCHAR NOT NULL,          -- JSON
    ready           VARCHAR NOT NULL,          -- READY | NOT_READY
    config_update   VARCHAR NOT NULL,          -- NOT_UPDATING | IN_PROGRESS | UPDATE_FAILED
    update_message  VARCHAR,                   -- why the last update failed, when it did
    created_by      VARCHAR NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_by      VARCHAR NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

-- Every served entity of every configuration an endpoint ever had (system.serving.served_entities):
-- rows are added when a configuration takes effect and never changed, except that deleting the
-- endpoint stamps endpoint_delete_time on all of them.
CREATE TABLE meta.served_entities (
    served_entity_id        VARCHAR PRIMARY KEY,
    endpoint_id             VARCHAR NOT NULL,
    endpoint_name           VARCHAR NOT NULL,  -- the endpoint's full name when the row was written
    endpoint_config_version INTEGER NOT NULL,
    served_entity_name      VARCHAR NOT NULL,
    entity_type             VARCHAR NOT NULL,  -- CUSTOM_MODEL (a registered model version)
    entity_name             VARCHAR NOT NULL,  -- catalog.schema.model
    entity_version          VARCHAR NOT NULL,
    model_id                VARCHAR NOT NULL,  -- securable id of the registered model
    digest                  VARCHAR NOT NULL,  -- the version's MLmodel digest
    traffic_percentage      INTEGER NOT NULL,
    scale_to_zero_enabled   BOOLEAN NOT NULL,
    workload_size           VARCHAR NOT NULL,
    config                  VARCHAR NOT NULL,  -- the entity's JSON as configured
    created_by              VARCHAR NOT NULL,
    change_time             TIMESTAMPTZ NOT NULL,
    endpoint_delete_time    TIMESTAMPTZ
);

-- One row per invocation (system.serving.endpoint_usage), written in batches by the server.
CREATE TABLE meta.serving_requests (
    databricks_request_id   VARCHAR NOT NULL,  -- our request id (the name Databricks uses)
    client_request_id       VARCHAR,
    endpoint_id             VARCHAR NOT NULL,
    endpoint_name           VARCHAR NOT NULL,
    served_entity_id        VARCHAR,           -- NULL when the request failed before routing
    served_entity_name      VARCHAR,
    requester               VARCHAR NOT NULL,
    status_code             INTEGER NOT NULL,
    error_code              VARCHAR,
    request_time            TIMESTAMPTZ NOT NULL,
    execution_duration_ms   DOUBLE NOT NULL,
    input_rows              INTEGER NOT NULL
);
