-- Tokens for machine clients (the venture generator, the CLI). Only a SHA-256 of the token is
-- kept; the token is shown once, at creation. A token acts for its user with its own role,
-- never more than the user's.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('creator', 'operator', 'admin')),
    created_at   BIGINT NOT NULL
);

-- Creates that carried an Idempotency-Key: the same key and body again returns the same
-- venture; the same key with another body is refused.
CREATE TABLE idempotency_keys (
    user_id        TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    venture_id     TEXT NOT NULL REFERENCES ventures (id),
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
