-- A venture's own environment variables (the integration's are derived from its Supabase
-- values and not listed here). Values are sealed in `secrets` under the name
-- `env/<environment>/<key>/v<version>`; `env_values` says which versions exist, who set each
-- and when. The highest version of a (key, environment) is current; a removed value is a
-- version without a sealed value.
CREATE TABLE env_vars (
    venture_id  TEXT NOT NULL REFERENCES ventures (id),
    key         TEXT NOT NULL,
    description TEXT NOT NULL,
    secret      BIGINT NOT NULL CHECK (secret IN (0, 1)),
    source      TEXT NOT NULL CHECK (source IN ('user', 'generated')),
    generator   TEXT,
    -- Declared by the venture's spec: a later spec that no longer declares it removes it.
    from_spec   BIGINT NOT NULL CHECK (from_spec IN (0, 1)),
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (venture_id, key)
);

CREATE TABLE env_values (
    venture_id  TEXT NOT NULL REFERENCES ventures (id),
    key         TEXT NOT NULL,
    environment TEXT NOT NULL CHECK (environment IN ('development', 'preview', 'staging', 'production')),
    version     BIGINT NOT NULL,
    removed     BIGINT NOT NULL CHECK (removed IN (0, 1)),
    set_by      TEXT NOT NULL,
    set_at      BIGINT NOT NULL,
    PRIMARY KEY (venture_id, key, environment, version)
);

-- Every reveal of a value by an admin: who, when, which variable, environment and version.
CREATE TABLE env_reveals (
    id          TEXT PRIMARY KEY,
    venture_id  TEXT NOT NULL REFERENCES ventures (id),
    key         TEXT NOT NULL,
    environment TEXT NOT NULL,
    version     BIGINT NOT NULL,
    revealed_by TEXT NOT NULL,
    revealed_at BIGINT NOT NULL
);
CREATE INDEX env_reveals_venture ON env_reveals (venture_id, revealed_at);

-- What Slipway last wrote to Vercel for a (key, environment): the entry's id (Slipway owns
-- only the entries listed here), a keyed fingerprint of what was written (never a plain
-- digest of the value), Vercel's updatedAt then (drift of write-only values shows as a newer
-- one), and why the last write failed, if it did.
CREATE TABLE env_sync (
    venture_id        TEXT NOT NULL REFERENCES ventures (id),
    key               TEXT NOT NULL,
    environment       TEXT NOT NULL,
    vercel_id         TEXT,
    fingerprint       TEXT,
    vercel_updated_at BIGINT,
    failure           TEXT,
    written_at        BIGINT NOT NULL,
    PRIMARY KEY (venture_id, key, environment)
);
