-- Users can be disabled (their sessions end and their tokens stop working); API tokens expire,
-- can be revoked, and say when they were last used. A token made before expiries has none
-- (listed as such, to be replaced).
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN revoked_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
CREATE INDEX api_tokens_user ON api_tokens (user_id);
