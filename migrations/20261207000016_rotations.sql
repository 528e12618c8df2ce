-- Secret rotations: one row per rotation of one of a venture's secrets, run by the job named.
-- `phase` records how far the loop got (pending: the new secret is made and sealed; set: it
-- is the current value in the vault and at Vercel; deployed: the deployments that use it are
-- built; tested: they answer their health check; finished: the old secret is retired), or how
-- a failed one ended (rolling_back, rolled_back, failed). A resumed job reads it, so it neither
-- loses the new secret nor retires the old one before the new one is live everywhere.
-- `state` is the class's JSON (key ids, the deployments built with each value); never a value.
CREATE TABLE rotations (
    id           TEXT PRIMARY KEY,
    venture_id   TEXT NOT NULL REFERENCES ventures (id),
    job_id       TEXT NOT NULL UNIQUE REFERENCES jobs (id),
    secret       TEXT NOT NULL,
    class        TEXT NOT NULL,
    cause        TEXT NOT NULL CHECK (cause IN ('manual', 'schedule')),
    requested_by TEXT NOT NULL,
    phase        TEXT NOT NULL CHECK (phase IN ('pending', 'set', 'deployed', 'tested', 'finished',
                                                 'rolling_back', 'rolled_back', 'failed')),
    state        TEXT NOT NULL,
    error        TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX rotations_by_secret ON rotations (venture_id, secret, created_at);
