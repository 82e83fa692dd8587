-- Personal access tokens for the catalog server. Only a SHA-256 digest of each token is kept:
-- a token is 32 random bytes, so a fast hash is as safe as a slow one and costs nothing per
-- request; the token itself is shown once, when it is created.
CREATE TABLE meta.tokens (
    token_id     VARCHAR PRIMARY KEY,          -- public: shown in listings, used to revoke
    principal    VARCHAR NOT NULL,             -- the user the token acts as
    token_hash   VARCHAR NOT NULL UNIQUE,      -- hex SHA-256 of the whole token
    comment      VARCHAR,
    created_by   VARCHAR NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,                  -- NULL: does not expire
    revoked_at   TIMESTAMPTZ,
    revoked_by   VARCHAR
);
