-- The venture's desired state: its validated spec as JSON (see venture::NewVenture).
ALTER TABLE ventures ADD COLUMN spec TEXT;

-- What Slipway made for a venture at the platforms, one row per kind of resource. A row
-- without external_id is an intent: written before the create call, so a resumed apply knows
-- the resource may exist and adopts it instead of treating it as someone else's.
CREATE TABLE venture_resources (
    venture_id  TEXT NOT NULL REFERENCES ventures (id),
    kind        TEXT NOT NULL,
    external_id TEXT,
    data        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (venture_id, kind)
);

-- Secret values sealed by the vault: which master key, the nonce, the ciphertext. The
-- venture and name are bound in as associated data, so a value moved to another row fails.
CREATE TABLE secrets (
    venture_id TEXT NOT NULL REFERENCES ventures (id),
    name       TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    ciphertext TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (venture_id, name)
);
