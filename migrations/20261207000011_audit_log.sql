-- What was done that destroys, discloses or changes a secret or someone's access: who, when, what
-- to which target, and how it went. Written by the engine only; never holds a secret value.
CREATE TABLE audit_log (
    id     TEXT PRIMARY KEY,
    at     BIGINT NOT NULL,
    -- The acting user's username, or the name a failed login gave.
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (at, id);
