-- The metastore: every securable, principal, grant and audit event of a catalog home.
-- Managed table data lives beside it in schema "managed", one DuckDB table per securable,
-- named after the securable's id so that RENAME never moves data.
-- Uniqueness (names, grants) is enforced by the engine, which serialises all writes.

CREATE SCHEMA meta;
CREATE SCHEMA managed;

CREATE TABLE meta.info (
    key   VARCHAR NOT NULL,
    value VARCHAR NOT NULL
);

CREATE TABLE meta.principals (
    name       VARCHAR NOT NULL,          -- lower-case user or group name
    kind       VARCHAR NOT NULL,          -- USER | GROUP
    created_at TIMESTAMPTZ NOT NULL,
    created_by VARCHAR NOT NULL
);

CREATE TABLE meta.memberships (
    group_name VARCHAR NOT NULL,
    member     VARCHAR NOT NULL           -- a user or (nested) group
);

CREATE TABLE meta.securables (
    id           VARCHAR PRIMARY KEY,
    type         VARCHAR NOT NULL,        -- METASTORE | CATALOG | SCHEMA | TABLE | VIEW | ...
    parent_id    VARCHAR,
    name         VARCHAR NOT NULL,        -- last part, lower-case
    full_name    VARCHAR NOT NULL,        -- catalog.schema.object, lower-case
    owner        VARCHAR NOT NULL,
    comment      VARCHAR,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   VARCHAR NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   VARCHAR NOT NULL,
    storage_name VARCHAR,                 -- managed.t_<id> for managed tables
    definition   VARCHAR,                 -- view text, names fully qualified
    properties   JSON
);

CREATE TABLE meta.columns (
    securable_id VARCHAR NOT NULL,
    position     INTEGER NOT NULL,        -- 1-based
    name         VARCHAR NOT NULL,
    data_type    VARCHAR NOT NULL,        -- Databricks type name, e.g. BIGINT, STRING
    nullable     BOOLEAN NOT NULL,
    comment      VARCHAR
);

CREATE TABLE meta.grants (
    securable_id VARCHAR NOT NULL,
    principal    VARCHAR NOT NULL,
    privilege    VARCHAR NOT NULL,
    granted_by   VARCHAR NOT NULL,
    granted_at   TIMESTAMPTZ NOT NULL
);

-- Column names follow Databricks' system.access.audit.
CREATE TABLE meta.audit_log (
    event_id          VARCHAR NOT NULL,
    event_time        TIMESTAMPTZ NOT NULL,
    event_date        DATE NOT NULL,
    workspace_id      VARCHAR NOT NULL,       -- the metastore id of this home
    source_ip_address VARCHAR,
    user_agent        VARCHAR,
    session_id        VARCHAR,
    user_identity     STRUCT(email VARCHAR, subject_name VARCHAR) NOT NULL,
    service_name      VARCHAR NOT NULL,
    action_name       VARCHAR NOT NULL,
    request_id        VARCHAR NOT NULL,
    request_params    MAP(VARCHAR, VARCHAR),
    response          STRUCT(status_code INTEGER, error_message VARCHAR, result VARCHAR) NOT NULL,
    audit_level       VARCHAR NOT NULL,
    decision_reasons  VARCHAR[]               -- why each privilege check passed or failed
);
